"""Time `rds-certificate-override rotate` (the plan) over an organization on the emulator (50 accounts x 17
regions x 10 databases), then measure that `--apply` honours `--max-concurrent`.

The emulator runs in this process; `organization.populate` arranges the accounts as the function and a
StackSet leave them, `organization.populate_databases` the databases (some on engines without the target CA,
some stopped, Multi-AZ DB clusters, pending maintenance actions). `rotate` then runs as its own process, the
way an operator runs it: the plan `--rounds` times (median wall time against `--goal`), then `--apply --yes
--max-concurrent N` with every write delayed `--write-delay` seconds in the emulator so that changes overlap,
and the emulator's gauge says the most write calls in flight at once per account-region; then a second plan,
which must plan nothing.

    python tools/bench_rotate.py [--accounts 50] [--regions 17] [--databases 10] [--rounds 3] [--goal 60]
        [--max-concurrent 4] [--apply-accounts 5]

The apply runs over the first `--apply-accounts` accounts (every region): enough to see the bound per
account-region without waiting on thousands of delayed writes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from rds_override_local import organization, rds_emulator
from rds_override_local.cloud import emulator_server

WRITES = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--databases", type=int, default=10, help="per account-region (6 or more)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--goal", type=float, default=60.0, help="seconds the plan's median must stay under")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--apply-accounts", type=int, default=5)
    parser.add_argument("--write-delay", type=float, default=0.05, help="seconds each write waits (0.05)")
    options = parser.parse_args()
    os.environ.update(organization.status_environment())
    accounts = organization.account_ids(options.accounts)
    regions = organization.managed_regions(options.regions)
    with emulator_server() as endpoint:
        started = time.perf_counter()
        organization.populate(endpoint, accounts, regions)
        arranged = organization.populate_databases(endpoint, accounts, regions, per_region=options.databases)
        print(
            f"populated {len(accounts)} accounts x {len(regions)} regions x {options.databases} databases "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        expected = arranged.expected(len(accounts) * len(regions))
        runs = []
        for _ in range(options.rounds):
            run = organization.run_rotate(endpoint, accounts, regions)
            runs.append(run)
            print(f"rotate (plan): {run.wall_s:.1f} s (CPU {run.cpu_s:.1f} s), {run.outcomes()}", flush=True)
        as_arranged = all(run.outcomes() == expected for run in runs)

        applied_to = accounts[: options.apply_accounts]
        rds_emulator.reset_calls()
        for action in WRITES:
            rds_emulator.inject_delay(action, options.write_delay, count=None)
        apply = organization.run_rotate(
            endpoint,
            applied_to,
            regions,
            extra_args=["--apply", "--yes", "--max-concurrent", str(options.max_concurrent)],
        )
        rds_emulator.clear_faults()
        most = rds_emulator.max_in_flight()
        second = organization.run_rotate(endpoint, applied_to, regions)
    median = statistics.median(run.wall_s for run in runs)
    planned_apply = arranged.planned * len(applied_to) * len(regions)
    peak = max(most.values(), default=0)
    bounded = peak <= options.max_concurrent
    times = [f"{run.wall_s:.1f}" for run in runs]
    print(
        f"rotate plan over {len(accounts)} accounts x {len(regions)} regions x {options.databases} "
        f"databases: median {median:.1f} s of {options.rounds} ({', '.join(times)}), "
        f"goal under {options.goal:.0f} s: {'met' if median < options.goal else 'MISSED'}; "
        f"plan {'as arranged' if as_arranged else f'{runs[-1].outcomes()}, expected {expected}'}"
    )
    print(
        f"rotate --apply --max-concurrent {options.max_concurrent} over {len(applied_to)} accounts x "
        f"{len(regions)} regions: {apply.wall_s:.1f} s, {apply.outcomes()}; most writes in flight per "
        f"account-region: {peak} (median {statistics.median(most.values()) if most else 0}) "
        f"{'<=' if bounded else '>'} {options.max_concurrent}; "
        f"second plan: {second.report['counts']['databases']}"
    )
    ok = (
        as_arranged
        and median < options.goal
        and bounded
        and apply.outcomes().get("applied") == planned_apply
        and second.report["counts"]["databases"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
