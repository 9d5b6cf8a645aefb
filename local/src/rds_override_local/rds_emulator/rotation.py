"""What CA rotation reads and writes and moto 5.2.5 leaves out.

- ``DescribePendingMaintenanceActions`` / ``ApplyPendingMaintenanceAction`` (moto has neither): actions are
  arranged with ``add_pending_maintenance_action`` (RDS proposes ``ca-certificate-rotation`` itself; nothing
  here invents one). Listing honours ``ResourceIdentifier``; ``Filters`` and paging are ignored (one page).
  Applying: ``immediate`` rotates the resource now to the region's ``DefaultCertificateForNewLaunches`` and
  drops the action; ``next-maintenance`` sets ``OptInStatus`` and ``CurrentApplyDate`` (the maintenance
  window is never reached here: the action stays listed, opted in); ``undo-opt-in`` clears them. An unknown
  resource or action -> ``ResourceNotFoundFault`` (HTTP 404).
- ``ModifyDBInstance`` / ``ModifyDBCluster`` with ``CACertificateIdentifier``: as RDS, a CA the engine
  version does not list (``SupportedCACertificateIdentifiers``) -> ``InvalidParameterCombination``;
  ``CertificateRotationRestart=false`` where the engine version cannot rotate without a restart ->
  ``InvalidParameterCombination``; an instance that is not ``available`` -> ``InvalidDBInstanceState``.
  ``ApplyImmediately`` true changes the CA at once (moto's behaviour); false leaves it and shows the new CA in
  ``PendingModifiedValues.CACertificateIdentifier`` (a cluster's: ``PendingModifiedValues.CertificateDetails
  .CAIdentifier``); the window never comes. A pending rotation action of the
  resource is dropped when its CA changes.
- Multi-AZ DB clusters (``CreateDBCluster`` with ``DBClusterInstanceClass``, engine ``mysql``/``postgres``)
  get a CA: ``CACertificateIdentifier`` or the region's default for new launches, shown as
  ``CertificateDetails`` (``CAIdentifier``, ``ValidTill``).
- ``DescribeDBEngineVersions`` gains ``SupportsCertificateRotationWithoutRestart``: true for MySQL, MariaDB,
  PostgreSQL and Aurora, false for the others (SQL Server, Oracle, Db2), as a fixed emulator rule.
- ``add_engine_version`` arranges more engine versions (any engine, ``docdb`` included): listed, beside
  moto's one default version per engine, when ``EngineVersion`` is not given. ``MaxRecords`` and ``Marker``
  page the list as RDS does (100 a page by default).
- ``restrict_engine_version`` arranges an engine version that accepts only some CAs (its
  ``SupportedCACertificateIdentifiers``), to have engines that do not support a target.
- ``set_instance_status`` arranges an instance's ``DBInstanceStatus`` (``modifying``, ``stopped``...).
- ``max_in_flight()``: the most write calls (``ModifyDBInstance``, ``ModifyDBCluster``,
  ``ApplyPendingMaintenanceAction``) that were in progress at the same time, per (account, region), since the
  last reset (an injected delay counts as in progress): what ``--max-concurrent`` bounds.

State lives in moto ``BackendDict`` s: ``mock_aws()`` and ``POST /moto-api/reset`` clear it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_types import TYPE_RESPONSE
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult, BaseResponse
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBCluster, DBInstance, rds_backends
from moto.rds.responses import RDSResponse

from .instances import supported_ca_certificates
from .models import rds_certificates_backends

ROTATION_ACTION = "ca-certificate-rotation"
WRITE_ACTIONS = frozenset({"ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction"})
_PENDING = "emulator_pending_ca"
_CLUSTER_CA = "emulator_ca"


class ResourceNotFoundFault(RDSClientError):
    code = "ResourceNotFoundFault"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class InvalidParameterCombination(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


class InvalidDBInstanceState(RDSClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBInstanceState", message)


class _RotationBackend(BaseBackend):
    """Pending maintenance actions of one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = threading.Lock()
        self.actions: dict[str, dict[str, dict[str, Any]]] = {}  # resource ARN -> action -> details
        self.engine_certificates: dict[tuple[str, str], list[str]] = {}  # (engine, version) -> supported CAs
        self.engine_versions: list[tuple[str, str]] = []  # arranged by add_engine_version


_rotation_backends: BackendDict[_RotationBackend] = BackendDict(_RotationBackend, "rds")


class _Gauge(BaseBackend):
    """Write calls in progress and their maximum, per (account, region); process-wide."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = threading.Lock()
        self.now: dict[tuple[str, str], int] = {}
        self.most: dict[tuple[str, str], int] = {}


_GAUGE_KEY = "aws"
_gauges: BackendDict[_Gauge] = BackendDict(
    _Gauge, "rds", use_boto3_regions=False, additional_regions=[_GAUGE_KEY]
)


def _gauge() -> _Gauge:
    return _gauges[DEFAULT_ACCOUNT_ID][_GAUGE_KEY]


def max_in_flight() -> dict[tuple[str, str], int]:
    """The most write calls in progress at once, per (account, region), since the last reset."""
    gauge = _gauge()
    with gauge.lock:
        return dict(gauge.most)


def rotates_without_restart(engine: str) -> bool:
    return engine.startswith(("mysql", "mariadb", "postgres", "aurora"))


def _default_ca(account_id: str, region: str) -> str:
    return rds_certificates_backends[account_id][region].default_certificate_for_new_launches


def add_pending_maintenance_action(
    account_id: str,
    region: str,
    resource_arn: str,
    *,
    action: str = ROTATION_ACTION,
    auto_applied_after: datetime | None = None,
    forced_apply: datetime | None = None,
    description: str = "CA certificate rotation",
) -> None:
    """Arrange a pending maintenance action, as RDS proposes one."""
    details: dict[str, Any] = {"Action": action, "Description": description}
    if auto_applied_after is not None:
        details["AutoAppliedAfterDate"] = auto_applied_after
    if forced_apply is not None:
        details["ForcedApplyDate"] = forced_apply
    backend = _rotation_backends[account_id][region]
    with backend.lock:
        backend.actions.setdefault(resource_arn, {})[action] = details


def restrict_engine_version(
    account_id: str, region: str, engine: str, version: str, certificates: list[str]
) -> None:
    """Arrange that one engine version accepts only ``certificates`` in one account and region (its
    ``SupportedCACertificateIdentifiers``; a CA change to any other is refused)."""
    backend = _rotation_backends[account_id][region]
    with backend.lock:
        backend.engine_certificates[(engine, version)] = list(certificates)


def add_engine_version(
    account_id: str, region: str, engine: str, version: str, certificates: list[str] | None = None
) -> None:
    """Arrange one more engine version in one account and region; ``certificates``: the CAs it accepts
    (default: those its engine accepts)."""
    backend = _rotation_backends[account_id][region]
    with backend.lock:
        if (engine, version) not in backend.engine_versions:
            backend.engine_versions.append((engine, version))
    if certificates is not None:
        restrict_engine_version(account_id, region, engine, version, certificates)


def _supported(account_id: str, region: str, engine: str, version: str) -> list[str]:
    backend = _rotation_backends[account_id][region]
    with backend.lock:
        restricted = backend.engine_certificates.get((engine, version))
    return restricted if restricted is not None else supported_ca_certificates(account_id, region, engine)


def set_instance_status(account_id: str, region: str, db_instance_identifier: str, status: str) -> None:
    """Arrange a DB instance's ``DBInstanceStatus``."""
    databases = rds_backends[account_id][region].databases
    if db_instance_identifier not in databases:
        raise ValueError(f"no DB instance {db_instance_identifier!r} in account {account_id}, {region}")
    databases[db_instance_identifier].status = status


def _resource(account_id: str, region: str, arn: str) -> DBInstance | DBCluster | None:
    backend = rds_backends[account_id][region]
    for database in backend.databases.values():
        if database.db_instance_arn == arn:
            return database
    for cluster in backend.clusters.values():
        if cluster.db_cluster_arn == arn:
            return cluster
    return None


def _set_ca(resource: DBInstance | DBCluster, ca: str) -> None:
    if isinstance(resource, DBCluster):
        setattr(resource, _CLUSTER_CA, ca)
    else:
        resource.ca_certificate_identifier = ca
    setattr(resource, _PENDING, None)


def _drop_rotation_action(account_id: str, region: str, arn: str) -> None:
    backend = _rotation_backends[account_id][region]
    with backend.lock:
        actions = backend.actions.get(arn, {})
        actions.pop(ROTATION_ACTION, None)
        if not actions:
            backend.actions.pop(arn, None)


def _entry(arn: str, actions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"ResourceIdentifier": arn, "PendingMaintenanceActionDetails": [dict(d) for d in actions.values()]}


def describe_pending_maintenance_actions(self: RDSResponse) -> ActionResult:
    """``RDSResponse.describe_pending_maintenance_actions``."""
    wanted = self.params.get("ResourceIdentifier")
    backend = _rotation_backends[self.current_account][self.region]
    with backend.lock:
        found = [
            _entry(arn, actions)
            for arn, actions in sorted(backend.actions.items())
            if actions and (wanted is None or arn == wanted)
        ]
    return ActionResult({"PendingMaintenanceActions": found})


def apply_pending_maintenance_action(self: RDSResponse) -> ActionResult:
    """``RDSResponse.apply_pending_maintenance_action``."""
    arn = self.params.get("ResourceIdentifier")
    action = self.params.get("ApplyAction")
    opt_in = self.params.get("OptInType")
    if opt_in not in ("immediate", "next-maintenance", "undo-opt-in"):
        raise RDSClientError("InvalidParameterValue", f"OptInType {opt_in!r} is not valid")
    backend = _rotation_backends[self.current_account][self.region]
    with backend.lock:
        details = backend.actions.get(arn, {}).get(action)
        if details is None:
            raise ResourceNotFoundFault(f"No pending maintenance action {action} for {arn}")
        if opt_in == "undo-opt-in":
            details.pop("OptInStatus", None)
            details.pop("CurrentApplyDate", None)
        else:
            details["OptInStatus"] = opt_in
            details["CurrentApplyDate"] = details.get("AutoAppliedAfterDate") or datetime.now(UTC)
        answer = _entry(arn, backend.actions[arn])
    if opt_in == "immediate" and action == ROTATION_ACTION:
        resource = _resource(self.current_account, self.region, arn)
        if resource is not None:
            _set_ca(resource, _default_ca(self.current_account, self.region))
        _drop_rotation_action(self.current_account, self.region, arn)
    return ActionResult({"ResourcePendingMaintenanceActions": answer})


def _check_ca_change(
    account_id: str, region: str, engine: str, version: str, ca: str, *, restart: bool | None = None
) -> None:
    if ca not in _supported(account_id, region, engine, version):
        raise InvalidParameterCombination(f"The engine {engine} does not support CA certificate {ca}")
    if restart is False and not rotates_without_restart(engine):
        raise InvalidParameterCombination(
            f"CertificateRotationRestart false is not supported for the engine {engine}"
        )


# moto's RDSResponse methods, kept by install().
_original: dict[str, Callable[[RDSResponse], ActionResult]] = {}


def modify_db_instance(self: RDSResponse) -> ActionResult:
    """``RDSResponse.modify_db_instance``: the CA as RDS changes it (see the module docstring)."""
    ca = self.params.get("CACertificateIdentifier")
    if ca:
        identifier = self.params.get("DBInstanceIdentifier")
        database = self.backend.describe_db_instances(identifier)[0]
        if database.status != "available":
            raise InvalidDBInstanceState(f"Database instance is not in available state: {database.status}")
        _check_ca_change(
            self.current_account,
            self.region,
            database.engine,
            database.engine_version,
            ca,
            restart=self.params.get("CertificateRotationRestart"),
        )
        if not self.params.get("ApplyImmediately"):
            del self.params["CACertificateIdentifier"]
            setattr(database, _PENDING, ca)
        else:
            _drop_rotation_action(self.current_account, self.region, database.db_instance_arn)
    return _original["modify_db_instance"](self)


def modify_db_cluster(self: RDSResponse) -> ActionResult:
    """``RDSResponse.modify_db_cluster``: the CA of a Multi-AZ DB cluster."""
    ca = self.params.pop("CACertificateIdentifier", None)
    if ca:
        identifier = self.params.get("DBClusterIdentifier")
        cluster = self.backend.describe_db_clusters(identifier)[0]
        _check_ca_change(self.current_account, self.region, cluster.engine, cluster.engine_version, ca)
        if self.params.get("ApplyImmediately"):
            _set_ca(cluster, ca)
            _drop_rotation_action(self.current_account, self.region, cluster.db_cluster_arn)
        else:
            setattr(cluster, _PENDING, ca)
    return _original["modify_db_cluster"](self)


def create_db_cluster(self: RDSResponse) -> ActionResult:
    """``RDSResponse.create_db_cluster``: a Multi-AZ DB cluster gets a CA."""
    ca = self.params.pop("CACertificateIdentifier", None)
    result = _original["create_db_cluster"](self)
    cluster = self.backend.clusters[self.params.get("DBClusterIdentifier")]
    if cluster.db_cluster_instance_class and not cluster.engine.startswith("aurora"):
        setattr(cluster, _CLUSTER_CA, ca or _default_ca(self.current_account, self.region))
    return result


def _pending_modified_values(instance: DBInstance) -> dict[str, Any] | None:
    pending = getattr(instance, _PENDING, None)
    return {"CACertificateIdentifier": pending} if pending else None


def _cluster_pending_modified_values(cluster: DBCluster) -> dict[str, Any] | None:
    """A cluster's pending CA: ``ClusterPendingModifiedValues.CertificateDetails.CAIdentifier``."""
    pending = getattr(cluster, _PENDING, None)
    return {"CertificateDetails": {"CAIdentifier": pending}} if pending else None


def _cluster_certificate_details(cluster: DBCluster) -> dict[str, Any] | None:
    ca = getattr(cluster, _CLUSTER_CA, None)
    if ca is None:
        return None
    found = rds_certificates_backends[cluster.account_id][cluster.region].find(ca)
    details: dict[str, Any] = {"CAIdentifier": ca}
    if found is not None:
        details["ValidTill"] = found.valid_till
    return details


def describe_db_engine_versions(self: RDSResponse) -> ActionResult:
    """``DescribeDBEngineVersions`` with ``SupportsCertificateRotationWithoutRestart``."""
    result = _original["describe_db_engine_versions"](self)
    answer: Any = result.result
    if not self.params.get("EngineVersion"):
        backend = _rotation_backends[self.current_account][self.region]
        with backend.lock:
            arranged = list(backend.engine_versions)
        engine = self.params.get("Engine")
        answer["DBEngineVersions"] += [
            {"Engine": name, "EngineVersion": version} for name, version in arranged if engine in (None, name)
        ]
    # Paged as RDS pages: MaxRecords (default 100), Marker (here the offset).
    size = int(self.params.get("MaxRecords") or 100)
    start = int(self.params.get("Marker") or 0)
    answer["DBEngineVersions"] = answer["DBEngineVersions"][start:]
    if len(answer["DBEngineVersions"]) > size:
        answer["DBEngineVersions"] = answer["DBEngineVersions"][:size]
        answer["Marker"] = str(start + size)
    for version in answer["DBEngineVersions"]:
        version["SupportsCertificateRotationWithoutRestart"] = rotates_without_restart(version["Engine"])
        version["SupportedCACertificateIdentifiers"] = _supported(
            self.current_account, self.region, version["Engine"], version["EngineVersion"]
        )
    return result


def _with_gauge(
    call_action: Callable[[BaseResponse], TYPE_RESPONSE],
) -> Callable[[BaseResponse], TYPE_RESPONSE]:
    def call_action_with_gauge(self: BaseResponse) -> TYPE_RESPONSE:
        if self._get_action() not in WRITE_ACTIONS:
            return call_action(self)
        key = (self.current_account, self.region)
        gauge = _gauge()
        with gauge.lock:
            gauge.now[key] = gauge.now.get(key, 0) + 1
            gauge.most[key] = max(gauge.most.get(key, 0), gauge.now[key])
        try:
            return call_action(self)
        finally:
            with gauge.lock:
                gauge.now[key] -= 1

    return call_action_with_gauge


def install(patched: Any) -> None:
    """Bind the above to ``RDSResponse`` (``patched``), ``DBInstance`` and ``DBCluster``; called once, after
    the other parts, by the package's ``install()``."""
    for name in (
        "modify_db_instance",
        "modify_db_cluster",
        "create_db_cluster",
        "describe_db_engine_versions",
    ):
        _original[name] = getattr(patched, name)
    patched.modify_db_instance = modify_db_instance
    patched.modify_db_cluster = modify_db_cluster
    patched.create_db_cluster = create_db_cluster
    patched.describe_db_engine_versions = describe_db_engine_versions
    patched.describe_pending_maintenance_actions = describe_pending_maintenance_actions
    patched.apply_pending_maintenance_action = apply_pending_maintenance_action
    patched.call_action = _with_gauge(patched.call_action)
    instance_class: Any = DBInstance
    instance_class.pending_modified_values = property(_pending_modified_values)
    cluster_class: Any = DBCluster
    cluster_class.pending_modified_values = property(_cluster_pending_modified_values)
    cluster_class.certificate_details = property(_cluster_certificate_details)
