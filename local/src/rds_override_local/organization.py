"""An organization on the emulator, as the function and a StackSet leave it, and `status` run over it.

What `make bench-status` (tools/bench_status.py) times and a simulation can reuse::

    from rds_override_local.cloud import emulator_server    # or local_cloud(...).rds_endpoint
    from rds_override_local import organization

    with emulator_server() as endpoint:
        accounts = organization.account_ids(50)
        regions = organization.managed_regions(17)
        arranged = organization.populate(endpoint, accounts, regions)
        run = organization.run_status(endpoint, accounts, regions)
        assert run.states() == arranged.expected_states()

Each account is reached as the status command reaches it: a role (`ROLE_NAME`) assumed through the
emulator's STS (moto gives the assumed role's keys the target account). `populate` gives each account one
stack in `HOME_REGION` and, in every region, that stack's ledger declaration (the layout of
lambda/declarations.py) and the override it declares; then it changes a few regions by hand.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from rds_override_ledger.declarations import DECLARATIONS_PATH, Declaration, WriteState, parameter_name

from . import rds_emulator, settings
from .cloud import create_stack

HOME_REGION = settings.REGION
"""Where each account's declaring stack lives (and where STS is asked)."""
ROLE_NAME = "RdsCertificateOverrideAudit"
"""The role `status --role-name` assumes in each account: member-roles.yaml's AuditRoleName, as the docs
name it."""
DECLARED = "rds-ca-rsa4096-g1"
"""The CA every account declares in every region."""
HAND_CHANGED = "rds-ca-ecc384-g1"
"""The override set by hand where `populate` arranges drift."""
STACK_NAME = "rds-certificate-override"


def status_environment() -> dict[str, str]:
    """The environment `status` runs in against the emulator: dummy credentials, nothing from the shell's
    AWS configuration."""
    return {**settings.ISOLATED_AWS_ENVIRONMENT, "AWS_DEFAULT_REGION": HOME_REGION, "NO_PROXY": "127.0.0.1"}


def account_ids(count: int) -> list[str]:
    """`count` member account ids: 100000000001, 100000000002..."""
    return [f"{100000000001 + index:012d}" for index in range(count)]


def managed_regions(count: int) -> list[str]:
    """The first `count` regions of the aws partition the SDK knows (sorted, so runs compare)."""
    return sorted(boto3.session.Session().get_available_regions("rds"))[:count]


def logical_id(region: str) -> str:
    """The declaring resource of `region` in each account's stack: `OverrideEuwest1` for eu-west-1."""
    return "Override" + region.replace("-", "").title()


@dataclass(frozen=True)
class Arranged:
    """What `populate` left, as (account, region) pairs per state; every other pair is in sync."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    drift: tuple[tuple[str, str], ...]
    undeclared: tuple[tuple[str, str], ...]
    stale: tuple[tuple[str, str], ...]

    def expected_states(self) -> dict[str, int]:
        """The count of each `status` state this organization must show."""
        total = len(self.accounts) * len(self.regions)
        findings = {"drift": len(self.drift), "undeclared": len(self.undeclared), "stale": len(self.stale)}
        counts = {"in-sync": total - sum(findings.values()), **findings}
        return {state: count for state, count in counts.items() if count}


def member_session(endpoint: str, account: str) -> boto3.session.Session:
    """The account as `status --role-name ROLE_NAME` sees it."""
    sts = boto3.client(
        "sts",
        region_name=HOME_REGION,
        endpoint_url=endpoint,
        aws_access_key_id=settings.DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings.DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    keys = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}", RoleSessionName="populate")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def declaration_value(stack_id: str, region: str, certificate: str) -> str:
    """A ledger declaration as the function writes it after ModifyCertificates (its own definition)."""
    return Declaration(
        stack_id=stack_id,
        logical_id=logical_id(region),
        certificate=certificate,
        previous_override=None,
        restore_previous=False,
        state=WriteState.APPLIED,
        request_id="populate",
        updated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ).to_json()


def declaration_name(stack_id: str, region: str) -> str:
    """The declaration's parameter: <path>/<stack name>/<stack uuid>/<logical id>."""
    return parameter_name(stack_id, logical_id(region))


def declare(
    session: boto3.session.Session, endpoint: str, stack_id: str, region: str, certificate: str
) -> None:
    """What the function leaves in `region`: its ledger parameter and the override."""
    session.client("ssm", region_name=region, endpoint_url=endpoint).put_parameter(
        Name=declaration_name(stack_id, region),
        Value=declaration_value(stack_id, region, certificate),
        Type="String",
    )
    session.client("rds", region_name=region, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier=certificate
    )


def populate(endpoint: str, accounts: Sequence[str], regions: Sequence[str], *, workers: int = 8) -> Arranged:
    """Every account declares DECLARED in every region; then, by hand: the override changed in two
    account-regions (drift), one region's declarations removed (undeclared), and the third account's stack
    deleted behind its declarations (stale). With fewer than 4 accounts or 2 regions the findings overlap
    (3 accounts: the last one is the stale one, one drift less): `Arranged` says what was left."""

    def one_account(account: str) -> tuple[boto3.session.Session, str]:
        session = member_session(endpoint, account)
        stack_id = create_stack(
            session.client("cloudformation", region_name=HOME_REGION, endpoint_url=endpoint), STACK_NAME
        )
        for region in regions:
            declare(session, endpoint, stack_id, region, DECLARED)
        return session, stack_id

    with ThreadPoolExecutor(max_workers=workers) as pool:
        stacks = dict(zip(accounts, pool.map(one_account, accounts), strict=True))

    drift = {(accounts[0], regions[0]), (accounts[-1], regions[-1])}
    for account, region in drift:
        session, _ = stacks[account]
        session.client("rds", region_name=region, endpoint_url=endpoint).modify_certificates(
            CertificateIdentifier=HAND_CHANGED
        )
    undeclared = {(accounts[1 % len(accounts)], regions[1 % len(regions)])}
    for account, region in undeclared:
        session, _ = stacks[account]
        ssm = session.client("ssm", region_name=region, endpoint_url=endpoint)
        pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=DECLARATIONS_PATH, Recursive=True)
        ssm.delete_parameters(Names=[parameter["Name"] for page in pages for parameter in page["Parameters"]])
    stale_account = accounts[2 % len(accounts)]
    session, stack_id = stacks[stale_account]
    session.client("cloudformation", region_name=HOME_REGION, endpoint_url=endpoint).delete_stack(
        StackName=stack_id
    )
    # Its stack gone, none of that account's declarations is live: all its declared regions are stale,
    # its hand-changed ones included (stale is reported before undeclared, drift needs a live one).
    stale = {(stale_account, region) for region in regions} - undeclared
    return Arranged(
        accounts=tuple(accounts),
        regions=tuple(regions),
        drift=tuple(sorted(drift - stale)),
        undeclared=tuple(sorted(undeclared)),
        stale=tuple(sorted(stale)),
    )


@dataclass(frozen=True)
class StatusRun:
    """One `rds-certificate-override status --format json` process."""

    exit_code: int
    report: dict[str, Any]
    wall_s: float
    cpu_s: float
    """The process's user + system CPU time."""

    def states(self) -> dict[str, int]:
        """How many rows are in each state."""
        return dict(Counter(str(row["state"]) for row in self.report["rows"]))


def status_command() -> str:
    """The installed console script beside this interpreter (the .venv's)."""
    return str(Path(sys.executable).parent / "rds-certificate-override")


def run_status(
    endpoint: str,
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    role_name: str = ROLE_NAME,
    extra_args: Sequence[str] = (),
) -> StatusRun:
    """`status --format json` over `accounts` and `regions`, in its own process, as an operator runs it.

    Exit codes 0, 1 and 2 are reports (in sync; findings; something unreadable); anything else, or output
    that is not a JSON report, raises RuntimeError with the command's stderr.
    """
    exit_code, report, wall, cpu = _run_command(
        "status", "rows", endpoint, accounts, regions, role_name=role_name, extra_args=extra_args
    )
    return StatusRun(exit_code=exit_code, report=report, wall_s=wall, cpu_s=cpu)


def run_check_trust_store(
    endpoint: str, accounts: Sequence[str], regions: Sequence[str], paths: Sequence[str]
) -> StatusRun:
    """`check-trust-store PATHS --format json` over `accounts` and `regions`, in its own process, timed."""
    exit_code, report, wall, cpu = _run_command(
        "check-trust-store", "rows", endpoint, accounts, regions, role_name=ROLE_NAME, extra_args=paths
    )
    return StatusRun(exit_code=exit_code, report=report, wall_s=wall, cpu_s=cpu)


def _run_command(
    command: str,
    report_key: str,
    endpoint: str,
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    role_name: str,
    extra_args: Sequence[str],
) -> tuple[int, dict[str, Any], float, float]:
    """`rds-certificate-override COMMAND ... --format json` in its own process, timed (wall and CPU): its
    exit code and JSON report, which must hold `report_key`; else RuntimeError with its stderr."""
    argv = [
        status_command(),
        command,
        "--endpoint-url",
        endpoint,
        "--accounts",
        ",".join(accounts),
        "--role-name",
        role_name,
        "--regions",
        ",".join(regions),
        "--format",
        "json",
        *extra_args,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own console script, no shell
        argv, env=status_environment(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = {}
    if done.returncode not in (0, 1, 2) or report_key not in report:
        raise RuntimeError(f"{command} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return done.returncode, report, wall, cpu


# --- databases for `rotate` ------------------------------------------------------------------------------

OLD_CA = "rds-ca-rsa2048-g1"
"""The CA `populate_databases` gives the databases that are to be rotated."""
LIMITED_ENGINE = ("mariadb", "10.6.10")
"""An engine version `populate_databases` restricts to OLD_CA: its databases cannot be rotated."""


@dataclass(frozen=True)
class Databases:
    """What `populate_databases` left in each account-region, and what a plan to `target` must say."""

    per_region: int
    planned: int  # per account-region: to rotate
    skipped: int  # per account-region: left alone with a reason (unsupported engine, stopped)

    def expected(self, account_regions: int) -> dict[str, int]:
        return {"planned": self.planned * account_regions, "skipped": self.skipped * account_regions}


def _database_layout(per_region: int) -> list[tuple[str, str, str, str]]:
    """(kind, identifier, engine, version or state) for one account-region: at least one of each kind, the
    rest PostgreSQL instances to rotate."""
    layout = [
        ("instance", "mssql-1", "sqlserver-se", "15.00.4415.2.v1"),  # restarts to rotate
        ("pending", "mysql-1", "mysql", "8.0.36"),  # RDS proposes ca-certificate-rotation
        ("cluster", "maz-1", "postgres", "16.3"),  # a Multi-AZ DB cluster
        ("limited", "maria-1", *LIMITED_ENGINE),  # its engine version does not support the target
        ("stopped", "stopped-1", "postgres", "16.3"),
        ("current", "current-1", "postgres", "16.3"),  # already on the target: not in the plan
    ]
    layout += [("instance", f"pg-{n}", "postgres", "16.3") for n in range(1, per_region - len(layout) + 1)]
    return layout[:per_region]


def populate_databases(
    endpoint: str,
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    per_region: int = 10,
    target: str = DECLARED,
    workers: int = 8,
) -> Databases:
    """`per_region` (at least 6) databases in every account-region, on OLD_CA unless said otherwise: SQL
    Server, MySQL with a pending `ca-certificate-rotation`, a Multi-AZ DB cluster, a MariaDB version that does
    not support `target`, a stopped PostgreSQL, one already on `target`, PostgreSQL instances. Through the
    API as each account (in this process's emulator for the hooks: call it with `emulator_server()`)."""
    if per_region < 6:
        raise ValueError(f"per_region must be 6 or more (one of each kind), not {per_region}")
    layout = _database_layout(per_region)

    def one_region(account: str, region: str, session: boto3.session.Session) -> None:
        rds = session.client("rds", region_name=region, endpoint_url=endpoint)
        rds_emulator.restrict_engine_version(account, region, *LIMITED_ENGINE, [OLD_CA])
        for kind, identifier, engine, version in layout:
            if kind == "cluster":
                rds.create_db_cluster(
                    DBClusterIdentifier=identifier,
                    Engine=engine,
                    EngineVersion=version,
                    DBClusterInstanceClass="db.m6gd.large",
                    MasterUsername="admin",
                    MasterUserPassword="password123",
                    AllocatedStorage=100,
                    StorageType="io1",
                    Iops=1000,
                    CACertificateIdentifier=OLD_CA,
                )
                continue
            answer = rds.create_db_instance(
                DBInstanceIdentifier=identifier,
                DBInstanceClass="db.t3.micro",
                Engine=engine,
                EngineVersion=version,
                AllocatedStorage=20,
                MasterUsername="admin",
                MasterUserPassword="password123",
                CACertificateIdentifier=target if kind == "current" else OLD_CA,
            )["DBInstance"]
            if kind == "pending":
                rds_emulator.add_pending_maintenance_action(account, region, answer["DBInstanceArn"])
            elif kind == "stopped":
                rds.stop_db_instance(DBInstanceIdentifier=identifier)

    def one_account(account: str) -> None:
        session = member_session(endpoint, account)
        for region in regions:
            one_region(account, region, session)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one_account, accounts))
    skipped = sum(1 for kind, *_ in layout if kind in ("limited", "stopped"))
    return Databases(per_region=per_region, planned=per_region - skipped - 1, skipped=skipped)


@dataclass(frozen=True)
class RotateRun:
    """One `rds-certificate-override rotate --format json` process."""

    exit_code: int
    report: dict[str, Any]
    wall_s: float
    cpu_s: float

    def outcomes(self) -> dict[str, int]:
        return {name: count for name, count in self.report["outcomes"].items() if count}


def run_rotate(
    endpoint: str,
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    role_name: str = ROLE_NAME,
    extra_args: Sequence[str] = (),
) -> RotateRun:
    """`rotate --format json` over `accounts` and `regions` in its own process (a plan unless extra_args say
    `--apply --yes`). Exit codes 0, 1, 2 are reports; anything else raises RuntimeError with stderr."""
    exit_code, report, wall, cpu = _run_command(
        "rotate", "items", endpoint, accounts, regions, role_name=role_name, extra_args=extra_args
    )
    return RotateRun(exit_code=exit_code, report=report, wall_s=wall, cpu_s=cpu)
