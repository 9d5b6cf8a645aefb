"""`rds-certificate-override`: the operator's console command. Subcommands: `status`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from rds_override_tools import aws, fleet, status

PROGRAM = "rds-certificate-override"
ACCOUNT_ID = re.compile(r"\d{12}")


class UsageError(Exception):
    """Bad input: the message names the option and what it accepts. Exit 2, nothing read."""


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status_parser = commands.add_parser(
        "status",
        help="per account and region: the RDS default CA, the override, who declared it, and what differs",
        description="Exit status: 0 every account-region in sync; 1 drift, undeclared or stale found; "
        "2 something could not be read (or bad input).",
    )
    status_parser.add_argument(
        "--regions",
        type=_comma_list,
        metavar="R1,R2",
        help="regions to read (default: every region each account has enabled, from EC2 DescribeRegions)",
    )
    scope = status_parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--accounts", type=_comma_list, metavar="ID1,ID2", help="member accounts to read (needs --role-name)"
    )
    scope.add_argument(
        "--organization",
        action="store_true",
        help="every ACTIVE account of the organization (run from the management or a delegated "
        "administrator account; needs --role-name)",
    )
    status_parser.add_argument(
        "--role-name",
        help="role assumed in each account of --accounts/--organization: arn:<partition>:iam::<id>:role/NAME",
    )
    status_parser.add_argument(
        "--days",
        type=int,
        default=90,
        help="list DB instances whose server certificate expires within DAYS (90)",
    )
    status_parser.add_argument(
        "--json", action="store_true", help="print JSON (for pipelines) instead of the table"
    )
    status_parser.add_argument(
        "--endpoint-url", help="send every request there (the local emulator), not to AWS"
    )
    status_parser.add_argument(
        "--concurrency", type=int, default=16, help="account-regions read at the same time (16)"
    )
    status_parser.set_defaults(run=run_status)
    return parser


def _validate(args: argparse.Namespace) -> None:
    if args.days < 0:
        raise UsageError(f"--days must be 0 or more, not {args.days}")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be 1 or more, not {args.concurrency}")
    if args.accounts is not None:
        if not args.accounts:
            raise UsageError("--accounts: no account ids given")
        malformed = [account for account in args.accounts if not ACCOUNT_ID.fullmatch(account)]
        if malformed:
            raise UsageError(f"--accounts: not 12-digit account ids: {', '.join(malformed)}")
    if (args.accounts or args.organization) and not args.role_name:
        raise UsageError("--accounts and --organization need --role-name: the role to assume in each account")
    if args.role_name and not (args.accounts or args.organization):
        raise UsageError("--role-name needs --accounts or --organization")
    if args.regions is not None and not args.regions:
        raise UsageError("--regions: no regions given")


def _check_regions(session: botocore.session.Session, regions: list[str], partition: str) -> None:
    known = session.get_available_regions("rds", partition)
    unknown = [region for region in regions if region not in known]
    if unknown:
        raise UsageError(
            f"--regions: unknown in partition {partition}: {', '.join(unknown)} (known: {', '.join(known)})"
        )


def run_status(args: argparse.Namespace) -> int:
    _validate(args)
    try:
        session = botocore.session.Session()
        home_region = session.get_config_variable("region")
        if not home_region:
            raise UsageError(
                "no region configured: set AWS_DEFAULT_REGION or a profile's region (for STS, EC2)"
            )
        if args.regions is not None:  # before any request: bad input reads nothing
            _check_regions(session, args.regions, session.get_partition_for_region(home_region))
        clients = aws.Clients(
            home_region=home_region, endpoint_url=args.endpoint_url, max_connections=args.concurrency
        )
        caller_account, partition = aws.caller_identity(clients)
    except (aws.NoCredentialsError, ClientError, BotoCoreError) as error:
        print(f"{PROGRAM} status: cannot read the caller's identity: {error}", file=sys.stderr)
        return 2
    clients.add_account(caller_account, None)

    if args.organization:
        try:
            accounts = aws.active_accounts(clients)
        except (ClientError, BotoCoreError) as error:
            raise UsageError(f"--organization: cannot list the organization's accounts: {error}") from error
        if not accounts:
            raise UsageError("--organization: the organization has no ACTIVE account")
    else:
        accounts = args.accounts or [caller_account]
    plans = [
        fleet.AccountPlan(
            account, aws.role_arn(partition, account, args.role_name) if args.role_name else None
        )
        for account in accounts
    ]

    reader = fleet.FleetReader(clients, days=args.days, now=datetime.now(UTC))
    # A progress bar only on a terminal (disable=None): pipes and CI logs get the report alone.
    with tqdm(total=0, unit="region", file=sys.stderr, disable=None, leave=False) as bar:

        def grow(total: int) -> None:
            bar.total = total
            bar.refresh()

        def advance(_row: status.Row) -> None:
            bar.update()

        rows = fleet.read_fleet(
            reader,
            plans,
            args.regions,
            concurrency=args.concurrency,
            on_total=grow,
            on_row=advance,
        )
    if args.json:
        print(status.report_json(rows, args.days, reader.now))
    else:
        print(status.report_table(rows, args.days))
    if args.role_name and all("cannot assume" in (row.error or "") for row in rows):
        print(f"{PROGRAM} status: --role-name {args.role_name}: no account could be reached", file=sys.stderr)
    return status.exit_code(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as error:
        parser.exit(2, f"{PROGRAM} {args.command}: error: {error}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
