"""`rds-certificate-override`: the operator's console command. Subcommands: `status`, `rotate`,
`check-trust-store`, `policy-data`, `policy-check`."""

from __future__ import annotations

import argparse
import importlib.metadata
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

from rds_override_tools import (
    aws,
    fleet,
    policy_data,
    published_roots,
    regions,
    rotate_fleet,
    rotation,
    status,
    trust_fleet,
    trust_store,
)

if TYPE_CHECKING:
    from botocore.config import _RetryDict

PROGRAM = "rds-certificate-override"
ACCOUNT_ID = re.compile(r"\d{12}")


class UsageError(Exception):
    """Bad input: the message names the option and what it accepts. Exit 2, nothing read."""


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _region_list(text: str) -> list[str]:
    try:
        return regions.parse_regions(text)
    except regions.RegionListError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


class _Regions(argparse.Action):
    """--regions R1,R2 or --regions "R1 R2" or --regions R1 R2: one list, in order, once each."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        lists = values if isinstance(values, list) else []
        setattr(namespace, self.dest, list(dict.fromkeys(region for found in lists for region in found)))


OU_ID = re.compile(r"(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    """The options that choose accounts and regions, and how to reach them: the same for every command."""
    parser.add_argument(
        "--regions",
        type=_region_list,
        nargs="+",
        action=_Regions,
        metavar="REGION",
        help="regions to read, separated by commas or spaces (default: every region each account has "
        "enabled, from EC2 DescribeRegions)",
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


def version() -> str:
    """The installed distribution's version (lambda/version.py's at build or install time)."""
    try:
        return importlib.metadata.version(PROGRAM)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__)
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {version()}")
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
        help="CertificateRotationRestart=false where the engine version rotates without a restart and the "
        "parameter group does not force TLS (rds.force_ssl, require_secure_transport); others skipped",
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
    _add_trust_store_options(rotate_parser, "--trust-store")
    rotate_parser.set_defaults(run=run_rotate)

    check_parser = commands.add_parser(
        "check-trust-store",
        help="whether client trust stores hold each region's RDS root of the target CA and of the CAs in use",
        description="Read-only. Exit status: 0 every store trusts all it must in every region; 1 a root is "
        "missing, expired or not yet valid (or the CA itself expired in RDS); 2 bad input or something could "
        f"not be read. Store types read: {trust_store.STORE_TYPES}.",
    )
    check_parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a store: PEM (one or many certificates), DER, PKCS#12, JKS, or a directory (one store: the "
        "union of its .pem/.crt/.cer/.jks/.p12 files); read by content, not extension; each judged alone",
    )
    _add_selection(check_parser)
    check_parser.add_argument(
        "--to",
        metavar="CA",
        help="the target CA (default: the CA declared in each region by the ledger, else its default for new "
        "launches)",
    )
    check_parser.add_argument(
        "--target-only",
        action="store_true",
        help="only the target CA, not also the CAs the region's databases are on now",
    )
    check_parser.add_argument(
        "--offline",
        action="store_true",
        help="no AWS call, no credentials: match the published root names (subject, key type, self-signed, "
        "validity) instead of thumbprints; needs --regions and --to",
    )
    _add_trust_store_options(check_parser, None)
    check_parser.add_argument(
        "--format", choices=["table", "json", "csv"], default="table", help="what stdout shows (table)"
    )
    check_parser.set_defaults(run=run_check_trust_store)

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

    policy_check_parser = commands.add_parser(
        "policy-check",
        help="run the RDS CA Guard rules on CloudFormation templates (the Guard engine, locally)",
        description="Runs policy/rds-ca.guard and policy/rds-ca-warnings.guard with the Guard engine of the "
        "PyPI package cfn-guard-rs (the `policy` extra). "
        "Exit status: 0 no finding or warnings only; 1 a rule failed; 2 bad input.",
    )
    policy_check_parser.add_argument(
        "templates",
        nargs="+",
        metavar="TEMPLATE",
        help="JSON or YAML templates; a folder: its *.template.json",
    )
    policy_check_parser.add_argument(
        "--data", required=True, metavar="FILE", help="one account-region's data file (policy-data)"
    )
    policy_check_parser.add_argument(
        "--format", choices=["text", "json"], default="text", help="what stdout shows (text)"
    )
    policy_check_parser.set_defaults(run=run_policy_check)
    return parser


def _add_trust_store_options(parser: argparse.ArgumentParser, paths_option: str | None) -> None:
    if paths_option is not None:
        parser.add_argument(
            paths_option,
            dest="trust_stores",
            nargs="+",
            metavar="PATH",
            help="client trust stores (as check-trust-store reads them): a region is changed only where each "
            "of them holds the target's root",
        )
    parser.add_argument(
        "--storepass",
        default=trust_store.DEFAULT_STOREPASS,
        help=f"password of JKS and PKCS#12 stores ({trust_store.DEFAULT_STOREPASS}, the JDK's default)",
    )


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


def _check_regions(requested: list[str], partition: str) -> None:
    known = regions.rds_regions(partition)
    unknown = [region for region in requested if region not in known]
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
            _check_regions(args.regions, session.get_partition_for_region(home_region))
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
    if args.report is not None and not Path(args.report).resolve().parent.is_dir():
        raise UsageError(f"--report {args.report}: its directory does not exist")
    options = rotation.Options(when=rotation.When(args.when), no_restart=args.no_restart)
    if args.apply and not args.yes and not sys.stdin.isatty():
        refused = "--apply without a terminal to confirm on: add --yes to apply without confirmation"
        if args.report:  # a pipeline that reads the report finds why nothing happened
            report = rotation.Report(target=args.to, options=options, apply=True, confirmed=False)
            report.refused = f"{refused} (nothing was read or changed)"
            _write_report(args.report, report)
            refused += f"; nothing was changed (the report in {args.report} says so)"
        raise UsageError(refused)
    stores = _read_stores(args.trust_stores, args.storepass, "--trust-store ") if args.trust_stores else None
    opened = _open_fleet(args, retries=ROTATE_RETRIES)
    if isinstance(opened, int):
        return opened
    clients, plans = opened
    report = rotation.Report(target=args.to, options=options, apply=args.apply)
    try:
        return _rotate(args, clients, plans, report, stores)
    except KeyboardInterrupt:
        report.interrupted = True
        print(f"{PROGRAM} rotate: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.report:
            _write_report(args.report, report)


def _rotate(
    args: argparse.Namespace,
    clients: aws.Clients,
    plans: list[fleet.AccountPlan],
    report: rotation.Report,
    stores: list[trust_store.Store] | None,
) -> int:
    reader = fleet.FleetReader(clients, days=0)
    planner = rotate_fleet.RotationReader(reader, to=args.to, options=report.options, stores=stores)
    with tqdm(total=None, unit="region", file=sys.stderr, disable=None, leave=False) as bar:
        report.items, report.errors = rotate_fleet.plan_fleet(
            planner, plans, args.regions, concurrency=args.concurrency, on_region=bar.update
        )
    if stores is not None:
        report.trust = sorted(planner.trust, key=lambda f: (f.store, f.account or "", f.requirement.region))
    refused = [error for error in report.errors if error.bad_input]
    if refused:  # before any change: an expired --to is refused, as the function refuses to declare one
        raise UsageError(f"{refused[0].error} (in {refused[0].region})")
    planned = rotation.counts(report.items)
    if args.apply and planned.databases:
        if not args.yes:
            # The plan, then its counts once: as the question.
            print(rotation.report_table(report, summary=False), file=sys.stderr)
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


def _read_stores(paths: Sequence[str], storepass: str, option: str) -> list[trust_store.Store]:
    """Every store, before any AWS call: one that cannot be read is bad input (exit 2), named."""
    try:
        return [trust_store.read_store(path, storepass) for path in paths]
    except trust_store.StoreError as error:
        raise UsageError(f"{option}{error}") from error


def _known_regions() -> set[str]:
    session = botocore.session.Session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("rds", partition)
    }


def _validate_offline(args: argparse.Namespace) -> None:
    remote = [
        option
        for option, value in (
            ("--accounts", args.accounts),
            ("--organization", args.organization),
            ("--ou", args.ou),
            ("--role-name", args.role_name),
            ("--endpoint-url", args.endpoint_url),
        )
        if value
    ]
    if remote:
        raise UsageError(f"--offline reads nothing from AWS: drop {', '.join(remote)}")
    if not args.regions or not args.to:
        raise UsageError("--offline needs --regions R1,R2 and --to CA (nothing is read to find them)")
    unknown = sorted(set(args.regions) - _known_regions())
    if unknown:
        raise UsageError(f"--regions: unknown: {', '.join(unknown)} (RDS regions, e.g. us-east-1,eu-west-1)")
    if published_roots.published_root(args.regions[0], args.to) is None:
        raise UsageError(
            f"--to {args.to}: no published root naming known for it offline (rds-ca-rsa2048-g1, "
            "rds-ca-rsa4096-g1, rds-ca-ecc384-g1, rds-ca-2019): check it online, by thumbprint"
        )


def run_check_trust_store(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    if args.offline:
        _validate_offline(args)
    else:
        _validate(args)
    stores = _read_stores(args.paths, args.storepass, "")
    if args.offline:
        findings = trust_fleet.check_offline(stores, args.regions, args.to, now)
        errors: list[rotation.RegionError] = []
    else:
        opened = _open_fleet(args)
        if isinstance(opened, int):
            return opened
        clients, plans = opened
        checker = trust_fleet.TrustReader(
            fleet.FleetReader(clients, days=0, now=now),
            stores,
            to=args.to,
            target_only=args.target_only,
            now=now,
        )
        with tqdm(total=None, unit="region", file=sys.stderr, disable=None, leave=False) as bar:
            findings, errors = trust_fleet.check_fleet(
                checker, plans, args.regions, concurrency=args.concurrency, on_region=bar.update
            )
    if args.format == "json":
        print(trust_store.report_json(stores, findings, errors, offline=args.offline, generated_at=now))
    elif args.format == "csv":
        print(trust_store.report_csv(findings))
    else:
        print(trust_store.report_table(stores, findings, errors, offline=args.offline))
    return trust_store.exit_code(findings, errors)


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
