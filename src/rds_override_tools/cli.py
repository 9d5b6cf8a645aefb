"""`rds-certificate-override`: the operator's console command. Subcommands: `status`, `rotate`,
`policy-data`, `policy-check`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from rds_override_tools import aws, fleet, policy_data, rotate_fleet, rotation, status

if TYPE_CHECKING:
    from botocore.config import _RetryDict

PROGRAM = "rds-certificate-override"
ACCOUNT_ID = re.compile(r"\d{12}")


class UsageError(Exception):
    """Bad input: the message names the option and what it accepts. Exit 2, nothing read."""


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


OU_ID = re.compile(r"(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    """The options that choose accounts and regions, and how to reach them: the same for every command."""
    parser.add_argument(
        "--regions",
        type=_comma_list,
        metavar="R1,R2",
        help="regions to read (default: every region each account has enabled, from EC2 DescribeRegions)",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--accounts", type=_comma_list, metavar="ID1,ID2", help="member accounts to read (needs --role-name)"
    )
    scope.add_argument(
        "--organization",
        action="store_true",
        help="every ACTIVE account of the organization (run from the management or a delegated "
        "administrator account; needs --role-name)",
    )
    scope.add_argument(
        "--ou",
        metavar="OU_ID",
        help="the ACTIVE accounts of this organizational unit and of the units under it (ou-... or a root "
        "r-...; needs --role-name)",
    )
    parser.add_argument(
        "--role-name",
        help="role assumed in each account of --accounts/--organization/--ou: "
        "arn:<partition>:iam::<id>:role/NAME",
    )
    parser.add_argument("--endpoint-url", help="send every request there (the local emulator), not to AWS")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="account-regions read at the same time (16)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status_parser = commands.add_parser(
        "status",
        help="per account and region: the RDS default CA, the override, who declared it, and what differs",
        description="Exit status: 0 every account-region in sync; 1 drift, undeclared or stale found; "
        "2 something could not be read (or bad input).",
    )
    _add_selection(status_parser)
    horizon = status_parser.add_mutually_exclusive_group()
    horizon.add_argument(
        "--days",
        type=int,
        default=None,
        help="list DB instances whose server certificate expires within DAYS (90)",
    )
    horizon.add_argument(
        "--expiring-within",
        type=int,
        metavar="DAYS",
        help="like --days, and exit 1 when the default CA, the override or any database's server certificate "
        "expires within DAYS (for a scheduled job or a pipeline)",
    )
    status_parser.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default=None,
        help="table (fits 120 columns; --wide for every column), json or csv (every column)",
    )
    status_parser.add_argument("--json", action="store_true", help="the same as --format json")
    status_parser.add_argument("--wide", action="store_true", help="the table with every column")
    status_parser.add_argument(
        "--state",
        type=_comma_list,
        metavar="STATE[,STATE]",
        help=f"only rows in these states ({', '.join(status.State)}); the exit status follows them",
    )
    status_parser.set_defaults(run=run_status)

    rotate_parser = commands.add_parser(
        "rotate",
        help="move DB instances and Multi-AZ DB clusters to the target CA: a plan, then --apply",
        description="Plans by default and changes nothing. Exit status: 0 nothing left to rotate; "
        "1 databases left (planned, skipped, not started); 2 something could not be read or a change failed "
        "(or bad input).",
    )
    _add_selection(rotate_parser)
    rotate_parser.add_argument(
        "--to",
        metavar="CA",
        help="the target CA (default: the CA declared in each region, else its default for new launches)",
    )
    rotate_parser.add_argument(
        "--apply", action="store_true", help="make the changes (after a confirmation, unless --yes)"
    )
    rotate_parser.add_argument(
        "--when",
        choices=[str(when) for when in rotation.When],
        default=str(rotation.When.NEXT_MAINTENANCE_WINDOW),
        help="when RDS makes the change (next-maintenance-window)",
    )
    rotate_parser.add_argument(
        "--no-restart",
        action="store_true",
        help="CertificateRotationRestart=false where the engine version rotates without a restart; "
        "databases that would restart are skipped",
    )
    rotate_parser.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)"
    )
    rotate_parser.add_argument(
        "--max-concurrent",
        type=int,
        default=5,
        metavar="N",
        help="changes in flight at a time per account and region (5)",
    )
    rotate_parser.add_argument(
        "--report", metavar="FILE", help="write every change and skip as JSON there (also when interrupted)"
    )
    rotate_parser.add_argument(
        "--format", choices=["table", "json"], default="table", help="what stdout shows (table)"
    )
    rotate_parser.set_defaults(run=run_rotate)

    data_parser = commands.add_parser(
        "policy-data",
        help="write the data the RDS CA Guard rules judge by: one JSON file per account-region",
        description="Reads DescribeCertificates, DescribeDBEngineVersions (every engine, paged) and the "
        "ledger. Exit status: 0 written; 2 something could not be read (or bad input).",
    )
    _add_selection(data_parser)
    data_parser.add_argument(
        "--days", type=int, default=30, help="CAs expiring within DAYS go to RdsCaExpiring (30)"
    )
    data_parser.add_argument(
        "--output",
        metavar="FILE|DIR",
        help="a path ending in .json: that file (one account-region); anything else: a folder (made if "
        "missing) of <account>-<region>.json (default: stdout, for one account-region)",
    )
    data_parser.set_defaults(run=run_policy_data)

    check_parser = commands.add_parser(
        "policy-check",
        help="run the RDS CA Guard rules on CloudFormation templates (the Guard engine, locally)",
        description="Runs policy/rds-ca.guard and policy/rds-ca-warnings.guard with the Guard engine of the "
        "PyPI package cfn-guard-rs (the `policy` extra). "
        "Exit status: 0 no finding or warnings only; 1 a rule failed; 2 bad input.",
    )
    check_parser.add_argument(
        "templates",
        nargs="+",
        metavar="TEMPLATE",
        help="JSON or YAML templates; a folder: its *.template.json",
    )
    check_parser.add_argument(
        "--data", required=True, metavar="FILE", help="one account-region's data file (policy-data)"
    )
    check_parser.add_argument(
        "--format", choices=["text", "json"], default="text", help="what stdout shows (text)"
    )
    check_parser.set_defaults(run=run_policy_check)
    return parser


def _validate(args: argparse.Namespace) -> None:
    """The selection options (every command)."""
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be 1 or more, not {args.concurrency}")
    if args.accounts is not None:
        if not args.accounts:
            raise UsageError("--accounts: no account ids given")
        malformed = [account for account in args.accounts if not ACCOUNT_ID.fullmatch(account)]
        if malformed:
            raise UsageError(f"--accounts: not 12-digit account ids: {', '.join(malformed)}")
    if args.ou is not None and not OU_ID.fullmatch(args.ou):
        raise UsageError(
            f"--ou: {args.ou!r} is not an organizational unit id (ou-xxxx-yyyyyyyy) or root (r-xxxx)"
        )
    member_scope = args.accounts or args.organization or args.ou
    if member_scope and not args.role_name:
        raise UsageError(
            "--accounts, --organization and --ou need --role-name: the role to assume in each account"
        )
    if args.role_name and not member_scope:
        raise UsageError("--role-name needs --accounts, --organization or --ou")
    if args.regions is not None and not args.regions:
        raise UsageError("--regions: no regions given")


def _check_regions(session: botocore.session.Session, regions: list[str], partition: str) -> None:
    known = session.get_available_regions("rds", partition)
    unknown = [region for region in regions if region not in known]
    if unknown:
        raise UsageError(
            f"--regions: unknown in partition {partition}: {', '.join(unknown)} (known: {', '.join(known)})"
        )


def _open_fleet(
    args: argparse.Namespace, retries: _RetryDict | None = None
) -> tuple[aws.Clients, list[fleet.AccountPlan]] | int:
    """The clients and the accounts to read, from the selection options; 2 when the caller's identity
    cannot be read (said on stderr). Bad input raises UsageError before anything is read."""
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
            home_region=home_region,
            endpoint_url=args.endpoint_url,
            max_connections=args.concurrency * getattr(args, "max_concurrent", 1),
            retries=retries,
        )
        caller_account, partition = aws.caller_identity(clients)
    except (aws.NoCredentialsError, ClientError, BotoCoreError) as error:
        print(f"{PROGRAM} {args.command}: cannot read the caller's identity: {error}", file=sys.stderr)
        return 2
    clients.add_account(caller_account, None)

    if args.organization:
        try:
            accounts = aws.active_accounts(clients)
        except (ClientError, BotoCoreError) as error:
            raise UsageError(f"--organization: cannot list the organization's accounts: {error}") from error
        if not accounts:
            raise UsageError("--organization: the organization has no ACTIVE account")
    elif args.ou:
        try:
            accounts = aws.accounts_in_ou(clients, args.ou)
        except (ClientError, BotoCoreError) as error:
            raise UsageError(f"--ou {args.ou}: cannot list its accounts: {error}") from error
        if not accounts:
            raise UsageError(f"--ou {args.ou}: no ACTIVE account in it or under it")
    else:
        accounts = args.accounts or [caller_account]
    plans = [
        fleet.AccountPlan(
            account, aws.role_arn(partition, account, args.role_name) if args.role_name else None
        )
        for account in accounts
    ]
    return clients, plans


def _validate_status(args: argparse.Namespace) -> None:
    for option, value in (("--days", args.days), ("--expiring-within", args.expiring_within)):
        if value is not None and value < 0:
            raise UsageError(f"{option} must be 0 or more, not {value}")
    args.days = args.expiring_within if args.expiring_within is not None else args.days
    if args.days is None:
        args.days = 90
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json and --format {args.format}: choose one")
    args.format = "json" if args.json else args.format or "table"
    if args.wide and args.format != "table":
        raise UsageError(f"--wide is for the table, not --format {args.format} (which has every column)")
    if args.state is not None:
        known = [str(state) for state in status.State]
        unknown = [state for state in args.state if state not in known]
        if unknown or not args.state:
            raise UsageError(
                f"--state: unknown {', '.join(unknown) or '(empty)'} (choose from {', '.join(known)})"
            )
        args.state = [status.State(state) for state in args.state]


def run_status(args: argparse.Namespace) -> int:
    _validate_status(args)
    _validate(args)
    opened = _open_fleet(args)
    if isinstance(opened, int):
        return opened
    clients, plans = opened

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
    if args.role_name and all("cannot assume" in (row.error or "") for row in rows):
        print(f"{PROGRAM} status: --role-name {args.role_name}: no account could be reached", file=sys.stderr)
    rows = status.filter_states(rows, args.state)
    if args.format == "json":
        print(status.report_json(rows, args.days, reader.now))
    elif args.format == "csv":
        print(status.report_csv(rows, args.days))
    else:
        print(status.report_table(rows, args.days, wide=args.wide))
    code = status.exit_code(rows)
    if args.expiring_within is not None:
        horizon = reader.now + timedelta(days=args.expiring_within)
        soon = [(row, what) for row in rows for what in status.expiring(row, horizon)]
        for row, what in soon:
            print(f"{PROGRAM} status: {row.account} {row.region}: {what}", file=sys.stderr)
        if soon:
            code = max(code, 1)
    return code


# RDS throttling during an apply: botocore's adaptive mode (client-side rate limiting on top of the standard
# mode's backoff), with more attempts than the default 3.
ROTATE_RETRIES: _RetryDict = {"mode": "adaptive", "max_attempts": 10}


def confirm(question: str) -> bool:
    """Ask on the terminal; only "yes" confirms."""
    print(f"{question} Type yes to apply: ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() == "yes"


def _write_report(path: str, report: rotation.Report) -> None:
    """Written whole or not at all (a temporary file renamed over it)."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(rotation.report_json(report, datetime.now(UTC)) + "\n")
    os.replace(partial, target)


def run_rotate(args: argparse.Namespace) -> int:
    _validate(args)
    if args.max_concurrent < 1:
        raise UsageError(f"--max-concurrent must be 1 or more, not {args.max_concurrent}")
    if args.yes and not args.apply:
        raise UsageError("--yes needs --apply (without --apply nothing is changed, nothing is asked)")
    if args.apply and not args.yes and not sys.stdin.isatty():
        raise UsageError("--apply without a terminal to confirm on: add --yes to apply without confirmation")
    if args.report is not None and not Path(args.report).resolve().parent.is_dir():
        raise UsageError(f"--report {args.report}: its directory does not exist")
    options = rotation.Options(when=rotation.When(args.when), no_restart=args.no_restart)
    opened = _open_fleet(args, retries=ROTATE_RETRIES)
    if isinstance(opened, int):
        return opened
    clients, plans = opened
    report = rotation.Report(target=args.to, options=options, apply=args.apply)
    try:
        return _rotate(args, clients, plans, report)
    except KeyboardInterrupt:
        report.interrupted = True
        print(f"{PROGRAM} rotate: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.report:
            _write_report(args.report, report)


def _rotate(
    args: argparse.Namespace, clients: aws.Clients, plans: list[fleet.AccountPlan], report: rotation.Report
) -> int:
    reader = fleet.FleetReader(clients, days=0)
    planner = rotate_fleet.RotationReader(reader, to=args.to, options=report.options)
    with tqdm(total=None, unit="region", file=sys.stderr, disable=None, leave=False) as bar:
        report.items, report.errors = rotate_fleet.plan_fleet(
            planner, plans, args.regions, concurrency=args.concurrency, on_region=bar.update
        )
    planned = rotation.counts(report.items)
    if args.apply and planned.databases:
        if not args.yes:
            print(rotation.report_table(report), file=sys.stderr)
            report.confirmed = confirm(f"{planned.sentence()}.")
            if not report.confirmed:
                print(f"{PROGRAM} rotate: not confirmed: nothing changed", file=sys.stderr)
                return 1
        with tqdm(total=planned.databases, unit="db", file=sys.stderr, disable=None, leave=False) as bar:
            report.items, report.interrupted = rotate_fleet.apply_plan(
                clients,
                report.items,
                report.options,
                max_concurrent=args.max_concurrent,
                concurrency=args.concurrency,
                on_result=lambda _item: bar.update(),
            )
    if args.format == "json":
        print(rotation.report_json(report, datetime.now(UTC)))
    else:
        print(rotation.report_table(report))
    if report.interrupted:
        print(f"{PROGRAM} rotate: interrupted: what was not sent is marked not-started", file=sys.stderr)
        return 130
    return rotation.exit_code(report)


def _validate_policy_data(args: argparse.Namespace) -> bool:
    """True when the output is one account-region (stdout or a .json file)."""
    _validate(args)
    if args.days < 0:
        raise UsageError(f"--days must be 0 or more, not {args.days}")
    single = args.output is None or args.output.endswith(".json")
    several = len(args.regions or []) > 1 or len(args.accounts or []) > 1 or args.organization or args.ou
    if single and several:
        raise UsageError(
            f"--output {args.output or '(stdout)'} holds one account-region: give a folder for several"
        )
    return single


def _read_policy_data(
    args: argparse.Namespace, clients: aws.Clients, plans: list[fleet.AccountPlan], single: bool
) -> tuple[list[tuple[str, str, str]], int]:
    """(account, region, data file text) for each account-region read; 2 when one could not be."""
    reader = fleet.FleetReader(clients, days=args.days, now=datetime.now(UTC))
    written: list[tuple[str, str, str]] = []
    code = 0
    for plan in plans:
        account = fleet.prepare_account(clients, plan, args.regions)
        if isinstance(account, status.Row):
            print(f"{PROGRAM} policy-data: {account.account}: {account.error}", file=sys.stderr)
            code = 2
            continue
        if single and len(account.regions) > 1:
            raise UsageError(
                f"account {account.id} has {len(account.regions)} regions: give --regions R or --output DIR"
            )
        for region in account.regions:
            try:
                data = policy_data.read_data(reader, account.id, region, args.days)
            except (ClientError, BotoCoreError, status.LedgerError) as error:
                reason = fleet.describe_error(error)
                print(f"{PROGRAM} policy-data: {account.id} {region}: {reason}", file=sys.stderr)
                code = 2
                continue
            written.append((account.id, region, policy_data.render(data)))
    return written, code


def run_policy_data(args: argparse.Namespace) -> int:
    single = _validate_policy_data(args)
    opened = _open_fleet(args)
    if isinstance(opened, int):
        return opened
    written, code = _read_policy_data(args, *opened, single)
    if args.output is None:
        for _account, _region, text in written:
            print(text, end="")
        return code
    target = Path(args.output)
    if single:
        target.parent.mkdir(parents=True, exist_ok=True)
        for _account, _region, text in written:
            target.write_text(text)
        return code
    target.mkdir(parents=True, exist_ok=True)
    for account_id, region, text in written:
        path = target / f"{account_id}-{region}.json"
        path.write_text(text)
        print(f"{PROGRAM} policy-data: wrote {path}", file=sys.stderr)
    return code


def run_policy_check(args: argparse.Namespace) -> int:
    try:
        from rds_override_tools import policy_check  # noqa: PLC0415 (the `policy` extra: only here)
    except ImportError as error:
        print(f"{PROGRAM} policy-check: {error}", file=sys.stderr)
        return 2
    try:
        data = policy_check.load_data(Path(args.data))
        paths = policy_check.template_paths(args.templates)
        templates = [(str(path), policy_check.load_template(path)) for path in paths]
    except policy_check.PolicyInputError as error:
        raise UsageError(str(error)) from error
    findings = [
        finding
        for name, template in templates
        for finding in policy_check.check_template(name, template, data)
    ]
    if args.format == "json":
        print(json.dumps([finding.as_json() for finding in findings], indent=1))
    else:
        for finding in findings:
            print(finding.line())
        fails = sum(finding.severity is policy_check.Severity.FAIL for finding in findings)
        print(
            f"{len(templates)} template(s), {fails} failure(s), {len(findings) - fails} warning(s) "
            f"({policy_check.ENGINE})",
            file=sys.stderr,
        )
    return policy_check.exit_code(findings)


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
