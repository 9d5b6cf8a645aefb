"""The emulator's state: the CA certificate catalog of each account and region, and the account's override.

Kept in a moto ``BackendDict`` (``rds_certificates_backends[account_id][region]``), so ``mock_aws()`` and
the server's ``POST /moto-api/reset`` reset it like every other moto backend. ``Certificate`` is a
dataclass rather than a moto ``BaseModel``: moto files models under the second part of their module name,
which is moto's service name only for modules inside moto.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from cryptography import x509
from moto.core.base_backend import BackendDict, BaseBackend
from moto.rds.exceptions import InvalidParameterCombination, InvalidParameterValue

from rds_override_tools.trust_store import thumbprint

from .ca_roots import root_certificate
from .exceptions import CertificateNotFoundFault


class CatalogEntry(NamedTuple):
    """One CA certificate every account and region starts with. ``thumbprint`` is the real us-west-2 one
    (kept to check the emulator's digest against RDS's); each region's answer is its own root's
    (``ca_roots``)."""

    certificate_identifier: str
    thumbprint: str
    valid_from: datetime
    valid_till: datetime


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: Real values from the AWS CLI example of ``describe-certificates`` (us-west-2), newest first.
DEFAULT_CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "rds-ca-ecc384-g1",
        "2ee3dcc06e50192559b13929e73484354f23387d",
        _utc("2021-05-24T22:06:59"),
        _utc("2121-05-24T23:06:59"),
    ),
    CatalogEntry(
        "rds-ca-rsa4096-g1",
        "19da4f2af579a8ae1f6a0fa77aa5befd874b4cab",
        _utc("2021-05-24T22:03:20"),
        _utc("2121-05-24T23:03:20"),
    ),
    CatalogEntry(
        "rds-ca-rsa2048-g1",
        "7c40cb42714b6fdb2b296f9bbd0e8bb364436a76",
        _utc("2021-05-24T21:59:00"),
        _utc("2061-05-24T22:59:00"),
    ),
    CatalogEntry(
        "rds-ca-2019",
        "d40ddb29e3750dffa671c3140bbf5f478d1c8096",
        _utc("2019-08-22T17:08:50"),
        _utc("2024-08-22T17:08:50"),
    ),
)

#: The system default CA for new DB instances since 2024-01-25.
SYSTEM_DEFAULT_CERTIFICATE = "rds-ca-rsa2048-g1"

_MAX_RECORDS_MIN = 20
_MAX_RECORDS_MAX = 100


@dataclasses.dataclass(frozen=True)
class Certificate:
    """A CA certificate as DescribeCertificates shows it (the botocore ``Certificate`` shape).

    Attribute names are the shape's member names in snake_case, which moto's serializer picks up.
    Catalog entries always have ``customer_override=False``; the backend returns copies with the
    flag set for the overridden one.
    """

    certificate_identifier: str
    valid_from: datetime
    valid_till: datetime
    region_name: str
    partition: str
    certificate_type: str = "CA"
    customer_override: bool = False
    explicit_thumbprint: str | None = None  # arranged by a test; else computed from the root

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the region's root certificate (DER), lower-case hex: made on first use (``ca_roots``)."""
        if self.explicit_thumbprint is not None:
            return self.explicit_thumbprint
        return thumbprint(self.root())

    def root(self) -> x509.Certificate:
        """This region's root certificate of the CA."""
        return root_certificate(
            self.region_name, self.certificate_identifier, self.valid_from, self.valid_till
        )

    @property
    def certificate_arn(self) -> str:
        """``arn:<partition>:rds:<region>::cert:<id>`` (certificates belong to no account)."""
        return f"arn:{self.partition}:rds:{self.region_name}::cert:{self.certificate_identifier}"

    @property
    def customer_override_valid_till(self) -> datetime | None:
        """When the override expires: the certificate's own ``ValidTill``; absent when not overridden."""
        return self.valid_till if self.customer_override else None


def _newest_first(certificates: Iterable[Certificate]) -> list[Certificate]:
    """The order DescribeCertificates lists them in (as the AWS CLI example shows)."""
    return sorted(certificates, key=lambda c: (c.valid_from, c.certificate_identifier), reverse=True)


class RDSCertificatesBackend(BaseBackend):
    """The CA certificates of one account in one region, and the account's override there."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._lock = threading.RLock()
        self._certificates: dict[str, Certificate] = {}
        for entry in DEFAULT_CATALOG:
            self.add_certificate(
                entry.certificate_identifier,
                valid_from=entry.valid_from,
                valid_till=entry.valid_till,
            )
        self._system_default = SYSTEM_DEFAULT_CERTIFICATE
        self._override: str | None = None

    # -- state -------------------------------------------------------------------------------------

    def add_certificate(
        self,
        certificate_identifier: str,
        *,
        valid_from: datetime,
        valid_till: datetime,
        thumbprint: str | None = None,
    ) -> Certificate:
        """Add (or replace) a certificate in this region's catalog and return it.

        Without ``thumbprint``, the one of the region's root certificate made for it (``ca_roots``).
        """
        certificate = Certificate(
            certificate_identifier=certificate_identifier,
            explicit_thumbprint=thumbprint,
            valid_from=valid_from,
            valid_till=valid_till,
            region_name=self.region_name,
            partition=self.partition,
        )
        with self._lock:
            self._certificates[certificate_identifier.lower()] = certificate
        return certificate

    def _get(self, certificate_identifier: str) -> Certificate:
        try:
            return self._certificates[certificate_identifier.lower()]
        except KeyError:
            raise CertificateNotFoundFault(certificate_identifier) from None

    def _shown(self, certificate: Certificate) -> Certificate:
        if certificate.certificate_identifier == self._override:
            return dataclasses.replace(certificate, customer_override=True)
        return certificate

    def find(self, certificate_identifier: str) -> Certificate | None:
        """The catalog's certificate of that id (case-insensitive), or ``None``."""
        return self._certificates.get(certificate_identifier.lower())

    def certificate_identifiers(self) -> list[str]:
        """Every certificate id of this region's catalog, newest ``ValidFrom`` first."""
        with self._lock:
            listed = _newest_first(self._certificates.values())
        return [certificate.certificate_identifier for certificate in listed]

    @property
    def customer_override(self) -> str | None:
        """The identifier of the overridden certificate, or ``None``."""
        return self._override

    def set_customer_override(self, certificate_identifier: str | None) -> None:
        """Set (or, with ``None``, remove) the override; unknown id -> :class:`CertificateNotFoundFault`."""
        with self._lock:
            if certificate_identifier is None:
                self._override = None
            else:
                self._override = self._get(certificate_identifier).certificate_identifier

    @property
    def system_default(self) -> str:
        """The certificate new DB instances get when no override is set."""
        return self._system_default

    def set_system_default(self, certificate_identifier: str) -> None:
        """Make another known certificate the region's system default."""
        with self._lock:
            self._system_default = self._get(certificate_identifier).certificate_identifier

    @property
    def default_certificate_for_new_launches(self) -> str:
        """The override when one is set, else the system default."""
        return self._override or self._system_default

    # -- API ---------------------------------------------------------------------------------------

    def describe_certificates(
        self,
        certificate_identifier: str | None = None,
        max_records: int | None = None,
        marker: str | None = None,
    ) -> tuple[list[Certificate], str | None, str]:
        """Return ``(certificates, next_marker, default_certificate_for_new_launches)``, consistently.

        Newest ``ValidFrom`` first. ``marker`` is the identifier of the first certificate of the page.
        """
        if max_records is None:
            max_records = _MAX_RECORDS_MAX
        if not _MAX_RECORDS_MIN <= max_records <= _MAX_RECORDS_MAX:
            raise InvalidParameterValue(
                f"Invalid value {max_records} for MaxRecords. "
                f"Must be between {_MAX_RECORDS_MIN} and {_MAX_RECORDS_MAX}"
            )
        with self._lock:
            if certificate_identifier is not None:
                listed = [self._get(certificate_identifier)]
            else:
                listed = _newest_first(self._certificates.values())
            shown = [self._shown(c) for c in listed]
            default = self.default_certificate_for_new_launches
        start = 0
        if marker is not None:
            keys = [c.certificate_identifier.lower() for c in shown]
            if marker.lower() not in keys:
                raise InvalidParameterValue(f"Invalid marker: {marker}")
            start = keys.index(marker.lower())
        page = shown[start : start + max_records]
        rest = shown[start + max_records :]
        next_marker = rest[0].certificate_identifier.lower() if rest else None
        return page, next_marker, default

    def modify_certificates(
        self,
        certificate_identifier: str | None = None,
        remove_customer_override: bool | None = None,
    ) -> Certificate:
        """Set the override to ``certificate_identifier``, or remove it.

        Returns the certificate now overridden; after a removal, the one that had been overridden
        (or, when none was, the system default one), shown as not overridden.
        """
        if (certificate_identifier is None) == (remove_customer_override is None):
            raise InvalidParameterCombination(
                "You must specify either CertificateIdentifier or RemoveCustomerOverride, but not both."
            )
        with self._lock:
            if certificate_identifier is not None:
                certificate = self._get(certificate_identifier)
                self._override = certificate.certificate_identifier
                return self._shown(certificate)
            if not remove_customer_override:
                raise InvalidParameterCombination(
                    "RemoveCustomerOverride must be true when CertificateIdentifier is not specified."
                )
            previous = self._override or self._system_default
            self._override = None
            return self._get(previous)


#: ``rds_certificates_backends[account_id][region]``
rds_certificates_backends: BackendDict[RDSCertificatesBackend] = BackendDict(RDSCertificatesBackend, "rds")
