"""`make status-demo`: the fleet report on the emulator, a few regions arranged, before a real organization.

Starts moto's server with the RDS emulator (127.0.0.1 only, dummy credentials), arranges an organization as
the function and a StackSet leave it (`organization.populate`: every account declares the same CA in every
region; then the override changed by hand in two account-regions, drift; one region's declarations removed,
undeclared; one account's stack deleted behind its declarations, stale), adds two DB instances in the first
account (one whose server certificate expires within 90 days), and runs `rds-certificate-override status`
over it in its own process, as an operator would: the command line, then its table. It exits 0 when the
report shows what was arranged (the command itself exits 1: findings).

    python -m rds_override_local.status_demo [--accounts 4] [--regions eu-west-1,...] [--json] [--serve]

With --serve the emulator stays up until Ctrl-C, and the environment to point the command at it is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rds_override_local import organization
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloud import emulator_server
from rds_override_tools.regions import RegionListError, parse_regions

DEFAULT_REGIONS = ("eu-central-1", "eu-west-1", "us-east-1")
SUMMARY_COUNT = re.compile(r"(\d+) ([a-z-]+)")
"""`12 account-regions: 7 in-sync, 2 drift, 1 undeclared, 2 stale`: each count and state after the colon."""


def status_argv(endpoint: str, accounts: Sequence[str], regions: Sequence[str]) -> list[str]:
    """The command line, after `rds-certificate-override`."""
    return [
        "status",
        "--endpoint-url",
        endpoint,
        "--accounts",
        ",".join(accounts),
        "--role-name",
        organization.ROLE_NAME,
        "--regions",
        ",".join(regions),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make status-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=4, help="member accounts (default: %(default)s; 4+)")
    parser.add_argument(
        "--regions",
        default=",".join(DEFAULT_REGIONS),
        help="regions, separated by commas or spaces (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="the command's JSON report instead of its table")
    parser.add_argument("--serve", action="store_true", help="keep the emulator up until Ctrl-C")
    args = parser.parse_args(argv)
    try:
        regions = parse_regions(args.regions)
    except RegionListError as error:
        parser.error(f"--regions: {error}")
    known = set(organization.managed_regions(1000))
    unknown = [region for region in regions if region not in known]
    if args.accounts < 4 or len(regions) < 2 or unknown:
        parser.error(
            f"--regions {', '.join(unknown)}: not an RDS region of the aws partition"
            if unknown
            else "--accounts 4 or more and 2 regions or more: each finding gets an account-region of its own"
        )
    accounts = organization.account_ids(args.accounts)
    # populate's own clients: dummy credentials, nothing from the shell's AWS configuration.
    os.environ.update(organization.status_environment())
    with emulator_server() as endpoint:
        arranged = organization.populate(endpoint, accounts, regions)
        add_instances(endpoint, accounts[0], regions[-1])
        command = [organization.status_command(), *status_argv(endpoint, accounts, regions)]
        command += ["--json"] if args.json else []
        print(f"$ rds-certificate-override {shlex.join(command[1:])}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own console script, no shell
            command, env=organization.status_environment(), capture_output=True, text=True, check=False
        )
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        shown = states_shown(done.stdout)
        expected = arranged.expected_states()
        if done.returncode != 1 or shown != expected:
            print(
                f"status-demo: arranged {expected} (exit 1: findings); the command reported {shown} "
                f"(exit {done.returncode})",
                file=sys.stderr,
            )
            return 1
        findings = ", ".join(f"{count} {state}" for state, count in expected.items() if state != "in-sync")
        print(
            f"(the emulator on 127.0.0.1: {len(accounts)} accounts x {len(regions)} regions, arranged with "
            f"{findings}; `make status-demo ARGS=--serve` keeps it up for your own commands)"
        )
        if args.serve:
            serve(endpoint, accounts, regions)
    return 0


INSTANCES = (
    # identifier, engine, version, CA, server certificate valid for (days)
    ("orders", "postgres", "16.3", "rds-ca-rsa2048-g1", 30),
    ("billing", "mysql", "8.0.39", "rds-ca-rsa4096-g1", 365),
)


def add_instances(endpoint: str, account: str, region: str) -> None:
    """DB instances in one account-region: per CA, and one whose server certificate expires soon."""
    rds = organization.member_session(endpoint, account).client(
        "rds", region_name=region, endpoint_url=endpoint
    )
    for identifier, engine, version, certificate, days in INSTANCES:
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t4g.micro",
            Engine=engine,
            EngineVersion=version,
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="not-a-secret-emulator",
            CACertificateIdentifier=certificate,
        )
        valid_till = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
        emulator.set_server_certificate_valid_till(account, region, identifier, valid_till)


def states_shown(output: str) -> dict[str, int]:
    """The count of rows per state in the command's output: its JSON rows, or its table's summary line."""
    if output.startswith("{"):
        return dict(Counter(str(row["state"]) for row in json.loads(output)["rows"]))
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    counts = SUMMARY_COUNT.findall(summary.partition(": ")[2])
    return {state: int(count) for count, state in counts if int(count)}


def serve(endpoint: str, accounts: Sequence[str], regions: Sequence[str]) -> None:
    environment = " ".join(f"{name}={value}" for name, value in organization.status_environment().items())
    print(
        f"\nThe emulator answers at {endpoint} until Ctrl-C. In another shell, for instance:\n"
        f"  env {environment} \\\n"
        f"    {organization.status_command()} {shlex.join(status_argv(endpoint, accounts, regions))} --json",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print()


if __name__ == "__main__":
    sys.exit(main())
