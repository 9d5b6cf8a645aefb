"""The SDK reads behind `status`: accounts and regions read concurrently, each region's answers handed to
`status.build_row`. Any failure to read becomes an `unreadable` row naming what failed; nothing here raises
for one account or region."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from rds_override_ledger import aws_answers
from rds_override_ledger.declarations import DECLARATIONS_PATH
from rds_override_tools import aws, readiness
from rds_override_tools.rotation import (
    Database,
    EngineFacts,
    Kind,
    MaintenanceAction,
    RegionError,
    is_multi_az_cluster,
    read_db_cluster,
    read_db_instance,
    read_engine_version,
    read_maintenance_actions,
)
from rds_override_tools.status import (
    Declaration,
    Instance,
    LedgerError,
    Row,
    build_row,
    expired_databases,
    parse_ledger,
    read_certificates,
    read_instance,
    unreadable,
)

# What the region-level reads may raise; anything else is a bug and surfaces.
READ_ERRORS = (ClientError, BotoCoreError, LedgerError)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Computes each key's value once, even when threads ask for it at the same time; errors are kept too."""

    def __init__(self) -> None:
        self._futures: dict[K, Future[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except Exception as error:  # kept for every later caller of this key
                future.set_exception(error)
        return future.result()


def describe_error(error: Exception) -> str:
    """A row's note for a failed read: what AWS said, and what it means here."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = error.operation_name
        if code in aws_answers.REGION_NOT_ENABLED_CODES:
            return (
                f"region not enabled for this account (or credentials not valid there): {operation}: {code}"
            )
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return f"access denied: {operation}: {code}: {message}"
        return f"{operation}: {code}: {message}"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class RegionDatabases:
    """DescribeDBInstances, DescribeDBClusters (the Multi-AZ DB clusters) and the ca-certificate-rotation
    pending maintenance actions of one account-region: what `status` readiness and `rotate` read alike."""

    instances: list[dict[str, Any]]  # DescribeDBInstances as answered
    databases: list[Database]  # the instances, then the Multi-AZ DB clusters
    maintenance: dict[str, MaintenanceAction]  # by resource ARN


def read_region_databases(rds: Any) -> RegionDatabases:
    clusters = [
        cluster
        for page in rds.get_paginator("describe_db_clusters").paginate()
        for cluster in page["DBClusters"]
        if is_multi_az_cluster(cluster)
    ]
    multi_az = {cluster["DBClusterIdentifier"] for cluster in clusters}
    instances = [
        instance
        for page in rds.get_paginator("describe_db_instances").paginate()
        for instance in page["DBInstances"]
    ]
    maintenance = read_maintenance_actions(
        resource
        for page in rds.get_paginator("describe_pending_maintenance_actions").paginate()
        for resource in page["PendingMaintenanceActions"]
    )
    return RegionDatabases(
        instances=instances,
        databases=[read_db_instance(instance, multi_az) for instance in instances]
        + [read_db_cluster(cluster) for cluster in clusters],
        maintenance=maintenance,
    )


@dataclass(frozen=True)
class Account:
    id: str
    regions: list[str]


class FleetReader:
    """Reads rows; one instance per run (its caches last the run)."""

    def __init__(self, clients: aws.Clients, *, days: int, now: datetime | None = None) -> None:
        self.clients = clients
        self.days = days
        self.now = now or datetime.now(UTC)
        self._stacks: Memo[tuple[str, str], bool] = Memo()
        self._engines: Memo[tuple[str, str, str], EngineFacts] = Memo()

    def stack_is_live(self, account: str, stack_id: str) -> bool:
        """DescribeStacks on the stack ARN, in its region; what its answer means: `aws_answers.stack_gone`."""

        def describe() -> bool:
            cloudformation = self.clients.cloudformation(stack_id.split(":")[3])
            try:
                with self.clients.account(account):
                    stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                if aws_answers.stack_gone(None, code, str(error)):
                    return False
                raise
            return not aws_answers.stack_gone(stacks)

        return self._stacks.get((account, stack_id), describe)

    def engine_facts(self, account: str, region: str, engine: str, version: str) -> EngineFacts:
        """DescribeDBEngineVersions of one engine version (the same in every account of a region):
        SupportedCACertificateIdentifiers and SupportsCertificateRotationWithoutRestart."""

        def describe() -> EngineFacts:
            with self.clients.account(account):
                versions = self.clients.rds(region).describe_db_engine_versions(
                    Engine=engine, EngineVersion=version
                )["DBEngineVersions"]
            return read_engine_version(versions[0] if versions else None)

        return self._engines.get((region, engine, version), describe)

    def supported_certificates(
        self, account: str, region: str, engine: str, version: str
    ) -> list[str] | None:
        """SupportedCACertificateIdentifiers of one engine version; None where it does not say."""
        supported = self.engine_facts(account, region, engine, version).supported_certificates
        return None if supported is None else list(supported)

    def declarations(self, account: str, region: str) -> list[Declaration]:
        paginator = self.clients.ssm(region).get_paginator("get_parameters_by_path")
        with self.clients.account(account):
            pages = list(paginator.paginate(Path=DECLARATIONS_PATH, Recursive=True))
        return parse_ledger(
            (parameter["Name"], parameter["Value"]) for page in pages for parameter in page["Parameters"]
        )

    def read_region(self, account: str, region: str) -> Row:
        with self.clients.account(account):
            return self._read_region(account, region)

    def _read_region(self, account: str, region: str) -> Row:
        try:
            rds = self.clients.rds(region)
            pages = list(rds.get_paginator("describe_certificates").paginate())
            certificates = read_certificates(
                pages[0].get("DefaultCertificateForNewLaunches", ""),
                [certificate for page in pages for certificate in page.get("Certificates", [])],
            )
            declarations = self.declarations(account, region)
            live_stacks = {d.stack_id for d in declarations if self.stack_is_live(account, d.stack_id)}
            found = read_region_databases(rds)
            instances: Sequence[Instance] = [read_instance(instance) for instance in found.instances]
            engines = {(database.engine, database.engine_version) for database in found.databases}
            facts = {
                (engine, version): self.engine_facts(account, region, engine, version)
                for engine, version in sorted(engines)
            }
            supported = {
                key: None if fact.supported_certificates is None else list(fact.supported_certificates)
                for key, fact in facts.items()
                if key in {(instance.engine, instance.engine_version) for instance in instances}
            }
        except (ClientError, BotoCoreError, LedgerError) as error:
            return unreadable(account, region, describe_error(error))
        row = build_row(
            account,
            region,
            certificates=certificates,
            declarations=declarations,
            live_stacks=live_stacks,
            instances=instances,
            supported_certificates=supported,
            now=self.now,
            days=self.days,
            on_expired_ca=expired_databases(
                ((d.identifier, d.certificate) for d in found.databases if d.multi_az_cluster is None),
                certificates.valid_till,
                self.now,
            ),
        )
        # Multi-AZ DB clusters carry a server certificate of their own: expiring ones are listed too.
        horizon = self.now + timedelta(days=self.days)
        row.expiring_instances = sorted(
            [
                *row.expiring_instances,
                *(
                    Instance(d.identifier, d.engine, d.engine_version, d.certificate, d.valid_till)
                    for d in found.databases
                    if d.kind is Kind.CLUSTER and d.valid_till is not None and d.valid_till <= horizon
                ),
            ],
            key=lambda instance: (instance.valid_till, instance.identifier),
        )
        target = readiness.target_certificate(row.declared_certificates, certificates.default)
        row.readiness = readiness.measure(target, found.databases, facts, found.maintenance)
        return row


T = TypeVar("T")


def each_region(
    clients: aws.Clients,
    plans: Sequence[AccountPlan],
    regions: list[str] | None,
    read: Callable[[str, str], list[T] | RegionError],
    *,
    concurrency: int,
    on_region: Callable[[], object] = lambda: None,
) -> tuple[list[T], list[RegionError]]:
    """`read(account, region)` for every account's regions, by at most `concurrency` threads: what they
    found, and the account-regions that could not be read (sorted; an account that could not be reached is
    one, region "*")."""
    found: list[T] = []
    errors: list[RegionError] = []
    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        accounts = list(pool.map(lambda plan: prepare_account(clients, plan, regions), plans))
        work: list[tuple[str, str]] = []
        for account in accounts:
            if isinstance(account, Row):  # the account could not be reached
                errors.append(RegionError(account.account, account.region, account.error or ""))
                continue
            work.extend((account.id, region) for region in account.regions)
        for answer in pool.map(lambda pair: read(*pair), work):
            on_region()
            if isinstance(answer, RegionError):
                errors.append(answer)
            else:
                found.extend(answer)
    finally:
        # Ctrl-C while reading: the reads not started are dropped, not waited for (nothing was changed).
        pool.shutdown(wait=True, cancel_futures=True)
    errors.sort(key=lambda error: (error.account, error.region))
    return found, errors


@dataclass(frozen=True)
class AccountPlan:
    """One account to read and, through --role-name, the role to assume there (None: the caller's own)."""

    id: str
    role_arn: str | None


def prepare_account(clients: aws.Clients, plan: AccountPlan, regions: list[str] | None) -> Account | Row:
    """Credentials and regions of one account, or an unreadable row (region "*") saying why not."""
    try:
        if plan.role_arn is not None:
            credentials = aws.assume_role(clients, plan.role_arn)
            clients.add_account(plan.id, credentials)
        else:
            clients.add_account(plan.id, None)
        return Account(plan.id, regions if regions is not None else aws.enabled_regions(clients, plan.id))
    except (ClientError, BotoCoreError) as error:
        reason = describe_error(error)
        if (
            plan.role_arn is not None
            and isinstance(error, ClientError)
            and error.operation_name == "AssumeRole"
        ):
            reason = f"cannot assume {plan.role_arn} (--role-name): {reason}"
        return unreadable(plan.id, "*", reason)


def read_fleet(
    reader: FleetReader,
    plans: Sequence[AccountPlan],
    regions: list[str] | None,
    *,
    concurrency: int,
    on_total: Callable[[int], None] = lambda _total: None,
    on_row: Callable[[Row], None] = lambda _row: None,
) -> list[Row]:
    """Every account's regions, read by at most `concurrency` threads; rows sorted by account and region.

    on_total is told how many rows to expect as soon as each account's region list is known (a progress bar's
    total grows with it); on_row is told of each row as it is read.
    """
    rows: list[Row] = []
    expected = 0
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        preparing = {pool.submit(prepare_account, reader.clients, plan, regions) for plan in plans}
        reading: set[Future[Row]] = set()
        while preparing or reading:
            both: set[Future[Any]] = preparing | reading
            done, _ = wait(both, return_when=FIRST_COMPLETED)
            for future in done & preparing:
                preparing.remove(future)
                account = future.result()
                if isinstance(account, Row):  # the account could not be reached: one row says why
                    expected += 1
                    on_total(expected)
                    rows.append(account)
                    on_row(account)
                    continue
                expected += len(account.regions)
                on_total(expected)
                reading |= {pool.submit(reader.read_region, account.id, region) for region in account.regions}
            for future in done & reading:
                reading.remove(future)
                rows.append(future.result())
                on_row(rows[-1])
    return sorted(rows, key=lambda row: (row.account, row.region))
