"""`make trust-store-demo`: `check-trust-store` on the emulator, a ready store beside a stale one.

Starts moto's server with the RDS emulator (127.0.0.1 only, dummy credentials), arranges one member account
as the function leaves it (rds-ca-rsa4096-g1 declared in every region: the ledger and the override) with a
DB instance still on rds-ca-rsa2048-g1, writes two stores from the emulator's own regional roots: `ready.pem`
(every root of every region, as global-bundle.pem) and `stale.jks` (a JKS keystore holding only the
rds-ca-2019 root, as a JVM truststore made before 2021 would), and runs `rds-certificate-override
check-trust-store` over them in its own process, as an operator would. It exits 0 when the report shows the
ready store trusting everything and the stale one nothing (the command itself exits 1: the stale store).

    python -m rds_override_local.trust_store_demo [--regions eu-west-1,us-east-1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rds_override_local import keystores, organization, status_demo
from rds_override_local.cloud import create_stack, emulator_server
from rds_override_local.rds_emulator import ca_roots

DEFAULT_REGIONS = ("eu-west-1", "us-east-1")
STOREPASS = "changeit"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make trust-store-demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS), help="regions (default: %(default)s)")
    parser.add_argument(
        "--keep", metavar="DIR", help="write the stores there and keep them (else a temp dir)"
    )
    args = parser.parse_args(argv)
    regions = [region for region in args.regions.replace(" ", ",").split(",") if region]
    unknown = [region for region in regions if region not in set(organization.managed_regions(1000))]
    if unknown or not regions:
        parser.error(f"--regions {', '.join(unknown) or '(none)'}: not an RDS region of the aws partition")
    os.environ.update(organization.status_environment())
    accounts = organization.account_ids(1)
    with emulator_server() as endpoint, tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        declare(endpoint, accounts[0], regions)
        status_demo.add_instances(endpoint, accounts[0], regions[0])  # orders: on rds-ca-rsa2048-g1
        ready = folder / "ready.pem"
        ready.write_bytes(ca_roots.bundle(regions, "whole"))
        stale = folder / "stale.jks"
        stale.write_bytes(keystores.jks([ca_roots.catalog_root(regions[0], "rds-ca-2019")], STOREPASS))
        argv_ = [
            "check-trust-store",
            str(ready),
            str(stale),
            "--endpoint-url",
            endpoint,
            "--accounts",
            accounts[0],
            "--role-name",
            organization.ROLE_NAME,
            "--regions",
            ",".join(regions),
        ]
        print(f"$ rds-certificate-override {shlex.join(argv_)}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own console script, no shell
            [organization.status_command(), *argv_],
            env=organization.status_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        rows = [line.split() for line in done.stdout.splitlines()[1:]]
        verdicts = {(row[0], row[5]) for row in rows if len(row) > 5 and row[1] == accounts[0]}
        expected = {(str(ready), "found"), (str(stale), "missing")}
        if done.returncode != 1 or verdicts != expected:
            print(
                f"trust-store-demo: expected {sorted(expected)} (exit 1), got {sorted(verdicts)}",
                file=sys.stderr,
            )
            return 1
        print(
            f"(the emulator on 127.0.0.1: 1 account x {len(regions)} regions, {organization.DECLARED} "
            f"declared, one database on rds-ca-rsa2048-g1 in {regions[0]}; "
            f"{ready.name}: every region's roots, "
            f"{stale.name}: a JKS with only the rds-ca-2019 root; "
            '`make check-trust-store ARGS="PATH --offline --regions R --to CA"` checks your own store)'
        )
    return 0


def declare(endpoint: str, account: str, regions: Sequence[str]) -> None:
    """What the function leaves in each region: its ledger parameter (from one stack) and the override."""
    session = organization.member_session(endpoint, account)
    cloudformation = session.client(
        "cloudformation", region_name=organization.HOME_REGION, endpoint_url=endpoint
    )
    stack_id = create_stack(cloudformation, organization.STACK_NAME)
    for region in regions:
        organization.declare(session, endpoint, stack_id, region, organization.DECLARED)


if __name__ == "__main__":
    sys.exit(main())
