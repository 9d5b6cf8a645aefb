"""`python -m rds_override_local.explorer`: run schedules, print each failing seed, replay one in full."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from .world import prepare, quiet, run_schedule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rds_override_local.explorer", description=__doc__)
    parser.add_argument("--seed", type=int, help="replay this one schedule and print its step log")
    parser.add_argument("--start", type=int, default=0, help="first seed of the run (default 0)")
    parser.add_argument("--count", type=int, default=10_000, help="schedules to run (default 10000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="stop after this long (default 10)")
    parser.add_argument("--show", type=int, default=3, help="step logs to print in full (default 3)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.minutes <= 0:
        parser.error("--count must be at least 1 and --minutes more than 0")
    prepare()
    if args.seed is not None:
        with quiet():
            outcome = run_schedule(args.seed)
        print(outcome.step_log())
        return 1 if outcome.failed else 0
    started, failures, shown = time.monotonic(), Counter[str](), 0
    first: dict[str, int] = {}
    ran = 0
    with quiet():
        for seed in range(args.start, args.start + args.count):
            if time.monotonic() - started > args.minutes * 60:
                break
            outcome = run_schedule(seed)
            ran += 1
            if not outcome.failed:
                continue
            kinds = sorted({v.invariant for v in outcome.violations} | ({"crash"} if outcome.crashes else set()))
            for kind in kinds:
                failures[kind] += 1
                first.setdefault(kind, seed)
            first_violation = outcome.violations[0] if outcome.violations else outcome.crashes[0]
            print(f"seed {seed} FAILS {'+'.join(kinds)}: {first_violation}", flush=True)
            if shown < args.show:
                shown += 1
                print(outcome.step_log(), flush=True)
    elapsed = time.monotonic() - started
    print(
        f"{ran} schedules in {elapsed:.1f}s ({ran / elapsed:.1f}/s); failing: "
        + (", ".join(f"{k} {n} (first seed {first[k]})" for k, n in sorted(failures.items())) or "none")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
