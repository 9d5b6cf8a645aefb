"""Time `rds-certificate-override status` over an organization on the emulator (50 accounts x 17 regions).

The emulator (moto's server with the RDS emulator) runs in this process; `organization.populate` arranges
the accounts through the API as the function and a StackSet would leave them, then changes a few regions by
hand (drift, undeclared, stale). `status` then runs as its own process, the way an operator runs it,
`--rounds` times. It prints the median wall time and exits non-zero when it is not under `--goal` seconds or
when the states are not the ones arranged.

    python tools/bench_status.py [--accounts 50] [--regions 17] [--rounds 3] [--goal 30]

The reusable part lives in rds_override_local.organization (populate, run_status).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from rds_override_local import organization
from rds_override_local.cloud import emulator_server


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--goal", type=float, default=30.0, help="seconds the median must stay under (30)")
    options = parser.parse_args()
    # populate's own clients: dummy credentials, nothing from the shell's AWS configuration.
    os.environ.update(organization.status_environment())
    accounts = organization.account_ids(options.accounts)
    regions = organization.managed_regions(options.regions)
    with emulator_server() as endpoint:
        started = time.perf_counter()
        arranged = organization.populate(endpoint, accounts, regions)
        print(
            f"populated {len(accounts)} accounts x {len(regions)} regions "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        runs = []
        for _ in range(options.rounds):
            run = organization.run_status(endpoint, accounts, regions)
            runs.append(run)
            print(f"status: {run.wall_s:.1f} s (CPU {run.cpu_s:.1f} s), {run.states()}", flush=True)
    expected = arranged.expected_states()
    as_arranged = all(run.states() == expected for run in runs)
    median = statistics.median(run.wall_s for run in runs)
    print(
        f"status over {len(accounts)} accounts x {len(regions)} regions: "
        f"median {median:.1f} s of {options.rounds} ({', '.join(f'{run.wall_s:.1f}' for run in runs)}), "
        f"goal under {options.goal:.0f} s: {'met' if median < options.goal else 'MISSED'}; "
        f"states {'as arranged' if as_arranged else f'{runs[-1].states()}, expected {expected}'}"
    )
    return 0 if as_arranged and median < options.goal else 1


if __name__ == "__main__":
    sys.exit(main())
