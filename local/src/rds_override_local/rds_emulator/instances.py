"""DB instances and engine versions: what moto 5.2.5 leaves out and the status command reads.

- ``CreateDBInstance`` without ``CACertificateIdentifier``: moto gives the instance ``rds-ca-default`` (no
  such CA); RDS gives it the region's ``DefaultCertificateForNewLaunches``, the override when one is set.
  The emulator does the same (``CreateDBInstance`` only: read replicas, restores and cluster members keep
  moto's behaviour).
- ``CertificateDetails`` of a DB instance (its server certificate): moto omits it. The emulator shows
  ``CAIdentifier`` (the instance's CA) and ``ValidTill``: the CA's own ``ValidTill`` from the account's
  catalog (real server certificates are shorter-lived and rotated by RDS), or what
  ``set_server_certificate_valid_till`` arranged. An instance whose CA is not in the catalog has no
  ``ValidTill``.
- ``DescribeDBEngineVersions``: moto does not implement it. The emulator answers one version per engine:
  ``EngineVersion`` if given, else moto's default version of the engine (every engine moto knows when
  ``Engine`` is absent; an engine moto does not know, without a version, gets nothing). Its
  ``SupportedCACertificateIdentifiers`` is the account's catalog in that region, without
  ``rds-ca-ecc384-g1`` for SQL Server (``sqlserver-*``), which does not accept it. The other filters
  (``DefaultOnly``, ``Filters``, ``IncludeAll``...) are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.rds.models import DBInstance, rds_backends
from moto.rds.responses import RDSResponse

from .models import rds_certificates_backends

#: The CA that SQL Server does not accept (STYLE.md: an ecc384 default breaks SQL Server creates).
SQL_SERVER_UNSUPPORTED = "rds-ca-ecc384-g1"

# Moto's RDSResponse.create_db_instance, kept by install().
original_create_db_instance: dict[str, Callable[[BaseResponse], ActionResult]] = {}


def supported_ca_certificates(account_id: str, region: str, engine: str) -> list[str]:
    """The CAs a DB instance of ``engine`` accepts in ``region``: the catalog, less ecc384 for SQL Server."""
    catalog = rds_certificates_backends[account_id][region].certificate_identifiers()
    if engine.startswith("sqlserver"):
        return [identifier for identifier in catalog if identifier != SQL_SERVER_UNSUPPORTED]
    return catalog


def describe_db_engine_versions(self: RDSResponse) -> ActionResult:
    """``RDSResponse.describe_db_engine_versions``."""
    engine: str | None = self.params.get("Engine")
    version: str | None = self.params.get("EngineVersion")
    # moto's table lists "MySQL" beside "mysql": engine names are lower case.
    engines = [engine] if engine else sorted({name.lower() for name in DBInstance.default_engine_versions})
    versions = []
    for name in engines:
        chosen = version or DBInstance.default_engine_versions.get(name)
        if chosen is not None:
            versions.append(
                {
                    "Engine": name,
                    "EngineVersion": chosen,
                    "SupportedCACertificateIdentifiers": supported_ca_certificates(
                        self.current_account, self.region, name
                    ),
                }
            )
    return ActionResult({"DBEngineVersions": versions})


def create_db_instance(self: RDSResponse) -> ActionResult:
    """``RDSResponse.create_db_instance``: the CA defaults to the region's default for new launches."""
    if not self.params.get("ca_certificate_identifier"):
        backend = rds_certificates_backends[self.current_account][self.region]
        self.params["ca_certificate_identifier"] = backend.default_certificate_for_new_launches
    return original_create_db_instance["create_db_instance"](self)


_VALID_TILL = "emulator_server_certificate_valid_till"


def certificate_details(instance: DBInstance) -> dict[str, Any]:
    """``DBInstance.certificate_details``: moto's serializer reads it as the ``CertificateDetails`` member."""
    valid_till = getattr(instance, _VALID_TILL, None)
    if valid_till is None:
        ca = rds_certificates_backends[instance.account_id][instance.region].find(
            instance.ca_certificate_identifier
        )
        valid_till = ca.valid_till if ca is not None else None
    details: dict[str, Any] = {"CAIdentifier": instance.ca_certificate_identifier}
    if valid_till is not None:
        details["ValidTill"] = valid_till
    return details


def set_server_certificate_valid_till(
    account_id: str, region: str, db_instance_identifier: str, valid_till: datetime
) -> None:
    """Arrange when one DB instance's server certificate expires (``CertificateDetails.ValidTill``)."""
    databases = rds_backends[account_id][region].databases
    if db_instance_identifier not in databases:
        raise ValueError(f"no DB instance {db_instance_identifier!r} in account {account_id}, {region}")
    setattr(databases[db_instance_identifier], _VALID_TILL, valid_till)


def install(patched: Any) -> None:
    """Bind the above to ``RDSResponse`` (``patched``) and ``DBInstance``; called once by the package's
    ``install()``."""
    original_create_db_instance["create_db_instance"] = patched.create_db_instance
    patched.create_db_instance = create_db_instance
    patched.describe_db_engine_versions = describe_db_engine_versions
    instance_class: Any = DBInstance
    instance_class.certificate_details = property(certificate_details)
