"""`rotate`: which databases to move to the target CA, which to leave and why, and what a change means.

Pure decisions and rendering only: they take what the SDK read (plain data) and return plan items; the
reads and the writes live in `rotate_fleet.py`. The rules, in the order they are checked for each database:

- already on the target CA: not in the plan at all;
- DocumentDB and Neptune (they share the RDS API): skipped;
- already scheduled (its `PendingModifiedValues.CACertificateIdentifier` is the target, or its
  `ca-certificate-rotation` maintenance action is opted in): skipped, "already scheduled";
- a member of a Multi-AZ DB cluster: skipped, the cluster is the one rotated (`ModifyDBCluster`);
- a read replica: skipped, it follows its source;
- not `available` (stopped, stopping, `modifying`, creating...): skipped, its status is the reason;
- an engine version whose `SupportedCACertificateIdentifiers` does not list the target: skipped;
- `--no-restart` and an engine version that cannot rotate without a restart: skipped;
- `--no-restart` and a parameter group that forces TLS (`rds.force_ssl`, `require_secure_transport`), or one
  that could not be read: skipped, the parameter named (without a restart the old certificate stays in use,
  and every client connects with TLS);
- otherwise planned: `ApplyPendingMaintenanceAction` where RDS already proposes a `ca-certificate-rotation`
  and the target is the CA it rotates to (the region's default for new launches), else `ModifyDBInstance` /
  `ModifyDBCluster` with `CACertificateIdentifier`.

Aurora clusters carry no CA of their own (it is per instance): their instances are planned one by one. RDS
Proxy uses ACM certificates: each proxy is listed as skipped, never touched.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rds_override_tools.published_roots import risk_note

if TYPE_CHECKING:
    from rds_override_tools.trust_store import Finding

ROTATION_ACTION = "ca-certificate-rotation"
SCHEDULED_REASON = "already scheduled"
# DescribeDBInstances / DescribeDBClusters list these too; they are left to their own service's tools.
OTHER_SERVICES = {"docdb": "Amazon DocumentDB", "neptune": "Amazon Neptune"}


class When(StrEnum):
    NEXT_MAINTENANCE_WINDOW = "next-maintenance-window"
    IMMEDIATELY = "immediately"


class Kind(StrEnum):
    INSTANCE = "instance"
    CLUSTER = "cluster"  # a Multi-AZ DB cluster (not Aurora): the CA is the cluster's
    PROXY = "proxy"


class Action(StrEnum):
    MODIFY_INSTANCE = "ModifyDBInstance"
    MODIFY_CLUSTER = "ModifyDBCluster"
    APPLY_PENDING = "ApplyPendingMaintenanceAction"
    SKIP = "skip"


class Outcome(StrEnum):
    PLANNED = "planned"  # in the plan, not applied (plan mode, or the confirmation was declined)
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"
    SCHEDULED = "scheduled"  # already scheduled before this run: nothing to do
    NOT_STARTED = "not-started"  # the apply was interrupted before this one's call


@dataclass(frozen=True)
class Database:
    """One DB instance or Multi-AZ DB cluster as DescribeDBInstances / DescribeDBClusters show it."""

    kind: Kind
    identifier: str
    arn: str
    engine: str
    engine_version: str
    certificate: str | None
    status: str
    pending_certificate: str | None = None  # PendingModifiedValues.CACertificateIdentifier
    read_replica_source: str | None = None
    multi_az_cluster: str | None = None  # the Multi-AZ DB cluster this instance belongs to
    maintenance_window: str | None = None
    valid_till: datetime | None = None
    parameter_group: str | None = None  # the DB parameter group (an instance) or DB cluster parameter group


def read_db_instance(instance: Mapping[str, Any], multi_az_clusters: set[str]) -> Database:
    cluster = instance.get("DBClusterIdentifier")
    return Database(
        kind=Kind.INSTANCE,
        identifier=instance["DBInstanceIdentifier"],
        arn=instance.get("DBInstanceArn", ""),
        engine=instance.get("Engine", ""),
        engine_version=instance.get("EngineVersion", ""),
        certificate=instance.get("CACertificateIdentifier"),
        status=instance.get("DBInstanceStatus", ""),
        pending_certificate=instance.get("PendingModifiedValues", {}).get("CACertificateIdentifier"),
        read_replica_source=instance.get("ReadReplicaSourceDBInstanceIdentifier")
        or instance.get("ReadReplicaSourceDBClusterIdentifier"),
        multi_az_cluster=cluster if cluster in multi_az_clusters else None,
        maintenance_window=instance.get("PreferredMaintenanceWindow"),
        valid_till=instance.get("CertificateDetails", {}).get("ValidTill"),
        parameter_group=next(
            (g.get("DBParameterGroupName") for g in instance.get("DBParameterGroups", [])), None
        ),
    )


def is_multi_az_cluster(cluster: Mapping[str, Any]) -> bool:
    """A Multi-AZ DB cluster (RDS for MySQL/PostgreSQL, with a DB cluster instance class), not Aurora."""
    return bool(cluster.get("DBClusterInstanceClass")) and not str(cluster.get("Engine", "")).startswith(
        "aurora"
    )


def read_db_cluster(cluster: Mapping[str, Any]) -> Database:
    return Database(
        kind=Kind.CLUSTER,
        identifier=cluster["DBClusterIdentifier"],
        arn=cluster.get("DBClusterArn", ""),
        engine=cluster.get("Engine", ""),
        engine_version=cluster.get("EngineVersion", ""),
        certificate=cluster.get("CertificateDetails", {}).get("CAIdentifier")
        or cluster.get("CACertificateIdentifier"),
        status=cluster.get("Status", ""),
        # ClusterPendingModifiedValues carries the CA as CertificateDetails.CAIdentifier
        pending_certificate=cluster.get("PendingModifiedValues", {})
        .get("CertificateDetails", {})
        .get("CAIdentifier"),
        maintenance_window=cluster.get("PreferredMaintenanceWindow"),
        valid_till=cluster.get("CertificateDetails", {}).get("ValidTill"),
        parameter_group=cluster.get("DBClusterParameterGroup"),
    )


@dataclass(frozen=True)
class EngineFacts:
    """DescribeDBEngineVersions of one engine version; None where it does not say."""

    supported_certificates: tuple[str, ...] | None
    rotates_without_restart: bool | None  # SupportsCertificateRotationWithoutRestart


UNKNOWN_ENGINE = EngineFacts(None, None)


def read_engine_version(version: Mapping[str, Any] | None) -> EngineFacts:
    if version is None:
        return UNKNOWN_ENGINE
    supported = version.get("SupportedCACertificateIdentifiers")
    return EngineFacts(
        tuple(supported) if supported is not None else None,
        version.get("SupportsCertificateRotationWithoutRestart"),
    )


@dataclass(frozen=True)
class MaintenanceAction:
    """One `ca-certificate-rotation` pending maintenance action (DescribePendingMaintenanceActions)."""

    resource_arn: str
    opt_in_status: str | None = None  # "immediate" / "next-maintenance" once opted in
    auto_applied_after: datetime | None = None
    forced_apply: datetime | None = None
    current_apply: datetime | None = None

    @property
    def scheduled(self) -> bool:
        return self.opt_in_status in {"immediate", "next-maintenance"}


def read_maintenance_actions(resources: Iterable[Mapping[str, Any]]) -> dict[str, MaintenanceAction]:
    """The `ca-certificate-rotation` action of each resource ARN (other actions are not ours)."""
    found: dict[str, MaintenanceAction] = {}
    for resource in resources:
        for detail in resource.get("PendingMaintenanceActionDetails", []):
            if detail.get("Action") == ROTATION_ACTION:
                found[resource["ResourceIdentifier"]] = MaintenanceAction(
                    resource_arn=resource["ResourceIdentifier"],
                    opt_in_status=detail.get("OptInStatus"),
                    auto_applied_after=detail.get("AutoAppliedAfterDate"),
                    forced_apply=detail.get("ForcedApplyDate"),
                    current_apply=detail.get("CurrentApplyDate"),
                )
    return found


# The parameter that forces TLS, per engine family (RDS for PostgreSQL and SQL Server; MySQL and MariaDB).
TLS_PARAMETERS = {
    "postgres": "rds.force_ssl",
    "aurora-postgresql": "rds.force_ssl",
    "sqlserver": "rds.force_ssl",
    "mysql": "require_secure_transport",
    "mariadb": "require_secure_transport",
    "aurora-mysql": "require_secure_transport",
}
_TLS_ON = {"1", "on", "true"}


def tls_parameter(engine: str) -> str | None:
    """The parameter that forces TLS for this engine (sqlserver-se, sqlserver-ee... are "sqlserver")."""
    family = "sqlserver" if engine.startswith("sqlserver") else engine
    return TLS_PARAMETERS.get(family)


def tls_forced(engine: str, group: str, parameters: Iterable[Mapping[str, Any]]) -> str | None:
    """ "<parameter>=<value> in parameter group <group>" when the group forces TLS; None when it does not."""
    name = tls_parameter(engine)
    for parameter in parameters:
        if parameter.get("ParameterName") == name:
            value = str(parameter.get("ParameterValue", "")).lower()
            return f"{name}={value} in parameter group {group}" if value in _TLS_ON else None
    return None


def expired_on(certificate: str | None, valid_till: Mapping[str, datetime], now: datetime) -> datetime | None:
    """When `certificate` expired (DescribeCertificates' ValidTill), if it has by `now`."""
    moment = valid_till.get(certificate or "")
    return moment if moment is not None and moment <= now else None


@dataclass(frozen=True)
class Options:
    when: When = When.NEXT_MAINTENANCE_WINDOW
    no_restart: bool = False


@dataclass(frozen=True)
class Item:
    """One database (or proxy) of the plan: what would be done or why it is left alone; then what happened."""

    account: str
    region: str
    kind: Kind
    identifier: str
    arn: str
    engine: str
    engine_version: str
    certificate: str | None
    target: str
    action: Action
    supports_target: bool | None = None  # None: the engine version does not say
    restarts: bool | None = None  # None: the engine version does not say (RDS then restarts)
    when: str = ""
    reason: str = ""  # why skipped
    outcome: Outcome = Outcome.PLANNED
    error: str | None = None
    certificate_expired: datetime | None = None  # the CA it is on expired then (DescribeCertificates)

    @property
    def planned(self) -> bool:
        return self.action is not Action.SKIP


def _when(
    options: Options, database: Database, maintenance: MaintenanceAction | None, restarts: bool | None
) -> str:
    # Without a restart the server keeps presenting the old certificate until its next restart.
    later = (
        "; new certificate in use after the next restart" if options.no_restart and restarts is False else ""
    )
    if options.when is When.IMMEDIATELY:
        return "immediately" + later
    window = f" {database.maintenance_window}" if database.maintenance_window else ""
    forced = maintenance.forced_apply if maintenance is not None else None
    return f"next window{window}" + (f"; forced {forced.date()}" if forced else "") + later


def _skip_reason(  # noqa: PLR0911 - one return per rule, in the order the module docstring lists them
    database: Database,
    target: str,
    facts: EngineFacts,
    maintenance: MaintenanceAction | None,
    options: Options,
    *,
    tls: str | None = None,
) -> str | None:
    if database.engine in OTHER_SERVICES:
        return f"{OTHER_SERVICES[database.engine]} shares the RDS API: not rotated here"
    if database.pending_certificate == target or (maintenance is not None and maintenance.scheduled):
        return SCHEDULED_REASON
    if database.multi_az_cluster:
        return f"member of Multi-AZ DB cluster {database.multi_az_cluster}: rotated with the cluster"
    if database.read_replica_source:
        return f"read replica of {database.read_replica_source}: follows its source"
    if database.status != "available":
        return f"status {database.status or 'unknown'}"
    if facts.supported_certificates is not None and target not in facts.supported_certificates:
        return f"{database.engine} {database.engine_version} does not support {target}"
    if options.no_restart and not facts.rotates_without_restart:
        return f"{database.engine} {database.engine_version} restarts to rotate (--no-restart)"
    if options.no_restart and tls is not None:
        return f"--no-restart refused: TLS forced ({tls}): the new certificate would not be in use"
    return None


def plan_database(
    account: str,
    region: str,
    database: Database,
    *,
    target: str,
    proposed: str | None,
    facts: EngineFacts,
    maintenance: MaintenanceAction | None,
    options: Options,
    tls: str | None = None,
    certificate_expired: datetime | None = None,
) -> Item | None:
    """The plan item of one database; None when it is already on the target.

    proposed: the CA a `ca-certificate-rotation` maintenance action moves to (the region's default for new
    launches): only then does the plan use ApplyPendingMaintenanceAction. tls: with --no-restart, the
    parameter that forces TLS on this database (or why its parameter group could not be read); None: not
    forced. certificate_expired: when the CA it is on now expired.
    """
    if database.certificate == target:
        return None
    reason = _skip_reason(database, target, facts, maintenance, options, tls=tls)
    if reason is not None:
        action = Action.SKIP
    elif maintenance is not None and target == proposed:
        action = Action.APPLY_PENDING
    elif database.kind is Kind.CLUSTER:
        action = Action.MODIFY_CLUSTER
    else:
        action = Action.MODIFY_INSTANCE
    supports = None if facts.supported_certificates is None else target in facts.supported_certificates
    restarts = None if facts.rotates_without_restart is None else not facts.rotates_without_restart
    if options.no_restart and facts.rotates_without_restart:
        restarts = False
    return Item(
        account=account,
        region=region,
        kind=database.kind,
        identifier=database.identifier,
        arn=database.arn,
        engine=database.engine,
        engine_version=database.engine_version,
        certificate=database.certificate,
        target=target,
        action=action,
        supports_target=supports,
        restarts=restarts,
        when="" if action is Action.SKIP else _when(options, database, maintenance, restarts),
        reason=reason or "",
        outcome=_initial_outcome(action, reason),
        certificate_expired=certificate_expired,
    )


def _initial_outcome(action: Action, reason: str | None) -> Outcome:
    if action is not Action.SKIP:
        return Outcome.PLANNED
    return Outcome.SCHEDULED if reason == SCHEDULED_REASON else Outcome.SKIPPED


def plan_region(
    account: str,
    region: str,
    *,
    target: str,
    proposed: str | None,
    databases: Sequence[Database],
    engines: Mapping[tuple[str, str], EngineFacts],
    maintenance: Mapping[str, MaintenanceAction],
    proxies: Sequence[str] = (),
    options: Options = Options(),
    tls: Mapping[str, str] | None = None,
    valid_till: Mapping[str, datetime] | None = None,
    now: datetime | None = None,
) -> list[Item]:
    """Every database of one account and region that is not on `target`: planned or skipped with a reason.

    tls: by database ARN, the parameter that forces TLS (read with --no-restart only). valid_till:
    DescribeCertificates' ValidTill by CA, to mark databases on an expired CA (at `now`)."""
    items = [
        item
        for database in databases
        if (
            item := plan_database(
                account,
                region,
                database,
                target=target,
                proposed=proposed,
                facts=engines.get((database.engine, database.engine_version), UNKNOWN_ENGINE),
                maintenance=maintenance.get(database.arn),
                options=options,
                tls=(tls or {}).get(database.arn),
                certificate_expired=expired_on(database.certificate, valid_till or {}, now)
                if now is not None
                else None,
            )
        )
        is not None
    ]
    items.extend(
        Item(
            account=account,
            region=region,
            kind=Kind.PROXY,
            identifier=proxy,
            arn="",
            engine="",
            engine_version="",
            certificate=None,
            target=target,
            action=Action.SKIP,
            reason="RDS Proxy: ACM certificates, not rotated here",
            outcome=Outcome.SKIPPED,
        )
        for proxy in proxies
    )
    return sorted(items, key=lambda item: (item.kind is Kind.PROXY, item.identifier))


def choose_target(
    requested: str | None,
    declared: Sequence[str],
    default: str,
    available: Sequence[str],
    *,
    valid_till: Mapping[str, datetime] | None = None,
    now: datetime | None = None,
) -> tuple[str | None, str]:
    """(the region's target CA, or None with the reason it has none).

    requested: --to; declared: the CAs live declarations declare there; default: the region's
    DefaultCertificateForNewLaunches; available: the region's DescribeCertificates identifiers (a --to
    unknown there is refused for that region); valid_till: their ValidTill (a --to expired at `now` is
    refused, as the function refuses to declare one: `expired_target`).
    """
    if requested is not None:
        if requested not in available:
            return None, f"--to {requested}: not a certificate of this region ({', '.join(available)})"
        expired = expired_on(requested, valid_till or {}, now) if now is not None else None
        if expired is not None:
            return None, expired_target(requested, expired, available, valid_till=valid_till or {}, now=now)
        return requested, ""
    if len(set(declared)) > 1:
        return None, f"live declarations disagree ({', '.join(sorted(set(declared)))}): use --to"
    if declared:
        return declared[0], ""
    return default, ""


EXPIRED_TARGET = "expired on"


def expired_target(
    requested: str,
    expired: datetime,
    available: Sequence[str],
    *,
    valid_till: Mapping[str, datetime],
    now: datetime | None,
) -> str:
    """The refusal of an expired --to, worded as the function's (override.choose_certificate)."""
    valid = sorted(ca for ca in available if now is None or expired_on(ca, valid_till, now) is None)
    return (
        f"--to {requested!r} {EXPIRED_TARGET} {_iso(expired)}: valid choices are {', '.join(valid) or 'none'}"
    )


# --------------------------------------------------------------------------------------------------
# What an apply sends, and what it did
# --------------------------------------------------------------------------------------------------


def request(item: Item, options: Options) -> tuple[str, dict[str, Any]]:
    """(client method, its parameters) for a planned item."""
    immediately = options.when is When.IMMEDIATELY
    if item.action is Action.APPLY_PENDING:
        return "apply_pending_maintenance_action", {
            "ResourceIdentifier": item.arn,
            "ApplyAction": ROTATION_ACTION,
            "OptInType": "immediate" if immediately else "next-maintenance",
        }
    parameters: dict[str, Any] = {"CACertificateIdentifier": item.target, "ApplyImmediately": immediately}
    if item.action is Action.MODIFY_CLUSTER:
        return "modify_db_cluster", {"DBClusterIdentifier": item.identifier, **parameters}
    if item.action is Action.MODIFY_INSTANCE:
        if options.no_restart and item.restarts is False:
            parameters["CertificateRotationRestart"] = False
        return "modify_db_instance", {"DBInstanceIdentifier": item.identifier, **parameters}
    raise ValueError(f"{item.identifier}: a skipped item is never sent")


def gate(items: Sequence[Item], findings: Sequence[Finding]) -> list[Item]:
    """One region's items, the planned ones skipped unless every store trusts the target there."""
    untrusted = [finding for finding in findings if not finding.trusted]
    if not untrusted:
        return list(items)
    reason = "; ".join(
        f"client trust store {f.store}: {f.requirement.certificate} root {f.verdict}"
        + (f" ({f.detail})" if f.detail else "")
        for f in untrusted
    )
    return [
        replace(item, action=Action.SKIP, when="", reason=reason, outcome=Outcome.SKIPPED)
        if item.planned
        else item
        for item in items
    ]


def with_outcome(item: Item, outcome: Outcome, error: str | None = None) -> Item:
    return replace(item, outcome=outcome, error=error)


@dataclass(frozen=True)
class Counts:
    """What the confirmation prompt shows."""

    databases: int
    restarts: int
    accounts: int
    regions: int
    skipped: int
    scheduled: int = 0  # already scheduled before this run

    def sentence(self) -> str:
        scheduled = f"; {self.scheduled} already scheduled" if self.scheduled else ""
        return (
            f"{self.databases} database(s) to rotate ({self.restarts} restart(s)) in {self.accounts} "
            f"account(s), {self.regions} region(s); {self.skipped} skipped{scheduled}"
        )


def counts(items: Sequence[Item]) -> Counts:
    planned = [item for item in items if item.planned]
    return Counts(
        databases=len(planned),
        # unknown (None) counts as a restart: RDS restarts unless the engine says it need not
        restarts=sum(1 for item in planned if item.restarts is not False),
        accounts=len({item.account for item in planned}),
        regions=len({item.region for item in planned}),
        skipped=sum(1 for item in items if item.outcome is Outcome.SKIPPED),
        scheduled=sum(1 for item in items if item.outcome is Outcome.SCHEDULED),
    )


UNREADABLE = "unreadable"
NO_TARGET = "no target"


@dataclass
class RegionError:
    """An account-region left out of the plan: it could not be read, or it has no target CA (a --to it
    does not have, declarations that disagree): `problem` says which."""

    account: str
    region: str
    error: str
    problem: str = UNREADABLE
    bad_input: bool = False  # the command's input is refused here (an expired --to): exit 2, nothing applied


@dataclass
class Report:
    target: str | None  # --to, or None: each region's declared CA
    options: Options
    apply: bool
    items: list[Item] = field(default_factory=list)
    errors: list[RegionError] = field(default_factory=list)
    interrupted: bool = False
    confirmed: bool | None = None  # None: no confirmation asked (plan mode, or --yes)
    refused: str | None = None  # why nothing was read or changed (--apply with no terminal to confirm on)
    trust: list[Finding] | None = None  # --trust-store: each store judged per region; None: not checked

    def outcomes(self) -> dict[str, int]:
        found = Counter(str(item.outcome) for item in self.items)
        return {str(outcome): found[str(outcome)] for outcome in Outcome}


def exit_code(report: Report) -> int:
    """0: nothing left to rotate (every database on its target, applied or scheduled; proxies do not count);
    1: databases left (planned, skipped, not started); 2: a region could not be read or a change failed
    (wins)."""
    if report.errors or any(item.outcome is Outcome.FAILED for item in report.items):
        return 2
    done = (Outcome.APPLIED, Outcome.SCHEDULED)
    left = [i for i in report.items if i.kind is not Kind.PROXY and i.outcome not in done]
    return 1 if left else 0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def item_json(item: Item) -> dict[str, Any]:
    return {
        "account": item.account,
        "region": item.region,
        "kind": str(item.kind),
        "identifier": item.identifier,
        "arn": item.arn,
        "engine": item.engine,
        "engine_version": item.engine_version,
        "certificate": item.certificate,
        "target": item.target,
        "action": str(item.action),
        "supports_target": item.supports_target,
        "restarts": item.restarts,
        "when": item.when or None,
        "reason": item.reason or None,
        "outcome": str(item.outcome),
        "error": item.error,
        "certificate_expired_on": _iso(item.certificate_expired),
    }


CLIENTS_NOT_CHECKED = (
    "clients not checked: `rds-certificate-override check-trust-store PATH --to CA` (or --trust-store PATH)"
)


def risk_notes(report: Report) -> list[str]:
    return sorted({note for item in report.items if (note := risk_note(item.target))})


def trust_lines(report: Report) -> list[str]:
    """What the plan says of the clients: per store, where it trusts the target, and each account-region
    where it does not (JSON has every one); or that they were not checked."""
    if report.trust is None:
        return [CLIENTS_NOT_CHECKED]
    lines = []
    for store in sorted({f.store for f in report.trust}):
        mine = [f for f in report.trust if f.store == store]
        trusted = sum(1 for f in mine if f.trusted)
        lines.append(
            f"client trust store {store}: trusts the target in {trusted} of {len(mine)} account-region(s)"
        )
        lines.extend(
            f"client trust store {store}: {f.account} {f.requirement.region} {f.requirement.certificate} "
            f"{f.verdict}" + (f" ({f.detail})" if f.detail else "")
            for f in mine
            if not f.trusted
        )
    return lines


def report_json(report: Report, generated_at: datetime) -> str:
    document = {
        "generated_at": _iso(generated_at),
        "target": report.target,
        "when": str(report.options.when),
        "no_restart": report.options.no_restart,
        "apply": report.apply,
        "confirmed": report.confirmed,
        "refused": report.refused,
        "interrupted": report.interrupted,
        "counts": vars(counts(report.items)),
        "outcomes": report.outcomes(),
        "items": [item_json(item) for item in report.items],
        "errors": [vars(error) for error in report.errors],
        "clients_checked": report.trust is not None,
        "trust_stores": None
        if report.trust is None
        else [
            {
                "store": f.store,
                "account": f.account,
                "region": f.requirement.region,
                "certificate": f.requirement.certificate,
                "verdict": str(f.verdict),
                "detail": f.detail or None,
            }
            for f in report.trust
        ],
        "notes": [*risk_notes(report), *([CLIENTS_NOT_CHECKED] if report.trust is None else [])],
    }
    return json.dumps(document, indent=2)


def _restart_cell(item: Item) -> str:
    if not item.planned:
        return "-"
    return {True: "yes", False: "no", None: "yes?"}[item.restarts]


ACTION_LABELS = {
    Action.MODIFY_INSTANCE: "modify",
    Action.MODIFY_CLUSTER: "modify-cluster",
    Action.APPLY_PENDING: "apply-pending",
    Action.SKIP: "skip",
}
PLAN_COLUMNS = ("ACCOUNT", "REGION", "DATABASE", "ENGINE", "CA", "TO", "RESTART", "ACTION", "WHEN / REASON")


def _plan_cells(item: Item) -> tuple[str, ...]:
    engine = f"{item.engine} {item.engine_version}".strip() or "-"
    if item.supports_target is False:
        engine += " (no target)"
    action = (
        ACTION_LABELS[item.action] if item.outcome in (Outcome.PLANNED, Outcome.SKIPPED) else item.outcome
    )
    detail = item.error or item.reason or item.when
    name = item.identifier if item.kind is Kind.INSTANCE else f"{item.identifier} ({item.kind})"
    return (
        item.account,
        item.region,
        name,
        engine,
        (item.certificate or "-")
        + (f" (expired {item.certificate_expired.date()})" if item.certificate_expired else ""),
        item.target,
        _restart_cell(item),
        action,
        detail,
    )


def report_table(report: Report, *, summary: bool = True) -> str:
    """The plan (or what the apply did): one line per database not on its target, one per account-region
    left out (in the same ACCOUNT and REGION columns), then the counts (unless `summary` is False)."""
    table = [PLAN_COLUMNS, *(_plan_cells(item) for item in report.items)]
    widths = [max(len(line[index]) for line in table) for index in range(len(PLAN_COLUMNS) - 1)]
    for error in report.errors:
        widths[0], widths[1] = max(widths[0], len(error.account)), max(widths[1], len(error.region))
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in table
    ]
    lines.extend(
        f"{error.account.ljust(widths[0])}  {error.region.ljust(widths[1])}  {error.problem}: {error.error}"
        for error in report.errors
    )
    for note in [*risk_notes(report), *trust_lines(report)]:
        lines.extend(textwrap.wrap(note, width=120, subsequent_indent="    ", break_on_hyphens=False))
    if not summary:
        return "\n".join(lines)
    outcomes = {name: n for name, n in report.outcomes().items() if n}
    problems = Counter(error.problem for error in report.errors)
    lines.append(
        f"{counts(report.items).sentence()}"
        + (f"; {', '.join(f'{n} {name}' for name, n in outcomes.items())}" if report.apply else "")
        + (f"; {problems[UNREADABLE]} account-region(s) unreadable" if problems[UNREADABLE] else "")
        + (f"; {problems[NO_TARGET]} account-region(s) with no target" if problems[NO_TARGET] else "")
        + ("; INTERRUPTED" if report.interrupted else "")
    )
    return "\n".join(lines)
