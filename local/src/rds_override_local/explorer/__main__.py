"""`python -m rds_override_local.explorer`: run schedules, print each failing seed, replay one in full."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from .classes import CLASSES
from .runner import default_jobs, run_many
from .world import NotImportable, prepare, quiet, run_schedule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rds_override_local.explorer", description=__doc__)
    parser.add_argument("--seed", type=int, help="replay this one schedule and print its step log")
    parser.add_argument("--start", type=int, default=0, help="first seed of the run (default 0)")
    parser.add_argument("--count", type=int, default=10_000, help="schedules to run (default 10000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="stop after this long (default 10)")
    parser.add_argument(
        "--jobs", type=int, default=default_jobs(), help="worker processes (default: the CPUs, at most 4)"
    )
    parser.add_argument("--storm", action="store_true", help="a fault storm in every schedule")
    args = parser.parse_args(argv)
    if args.count < 1 or args.minutes <= 0 or args.jobs < 1:
        parser.error("--count and --jobs must be at least 1, --minutes more than 0")
    try:
        prepare()
    except NotImportable as error:
        print(error, file=sys.stderr)
        return 2
    if args.seed is not None:
        with quiet():
            outcome = run_schedule(args.seed, storm=args.storm)
        print(outcome.step_log())
        return 1 if outcome.failed else 0
    started = time.monotonic()
    failures: Counter[str] = Counter()
    first: dict[str, int] = {}
    ran = 0
    verdicts = run_many(args.start, args.count, seconds=args.minutes * 60, jobs=args.jobs, storm=args.storm)
    for verdict in verdicts:
        ran += 1
        if not verdict.failed:
            continue
        kinds = [
            *verdict.invariants,
            *(["crash"] if verdict.crashed else []),
            *(f"class {n}" for n in verdict.classes),
        ]
        for kind in kinds:
            failures[kind] += 1
            first[kind] = min(first.get(kind, verdict.seed), verdict.seed)
        print(f"seed {verdict.seed} FAILS {', '.join(kinds)}: {verdict.first}", flush=True)
    elapsed = time.monotonic() - started
    print(f"\n{ran} schedules in {elapsed:.1f}s ({ran / elapsed:.1f}/s) with {args.jobs} processes")
    for kind in sorted(failures):
        label = CLASSES[int(kind.split()[1])] if kind.startswith("class ") else ""
        print(f"  {kind:<8} {failures[kind]:>6} schedules, first seed {first[kind]:>6}  {label}")
    if failures:
        storm = " --storm" if args.storm else ""
        print(f"Replay one: PYTHONPATH=lambda python -m rds_override_local.explorer --seed N{storm}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
