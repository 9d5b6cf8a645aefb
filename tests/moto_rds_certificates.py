"""RDS ``DescribeCertificates`` / ``ModifyCertificates`` for moto 5.2.5, plus test hooks.

moto 5.x answers both actions with ``NotImplementedError``. This module adds them to
``moto.rds.responses.RDSResponse`` (methods returning ``ActionResult``, so moto serializes the
answer from the botocore model) and keeps the state in a backend of its own,
``rds_certificates_backends[account_id][region]``, a moto ``BackendDict``: ``mock_aws()`` and the
server's ``POST /moto-api/reset`` reset it like every other moto backend. The same code serves
``with mock_aws():`` and ``moto.server.ThreadedMotoServer`` running in the same process.

Behaviour (RDS API reference, DescribeCertificates / ModifyCertificates / Certificate):

- Every account and region starts with the catalog in ``DEFAULT_CATALOG``: rds-ca-rsa2048-g1 (the
  system default for new launches), rds-ca-rsa4096-g1, rds-ca-ecc384-g1 and the expired
  rds-ca-2019, ``CertificateType`` ``"CA"``, ``CertificateArn`` ``arn:<partition>:rds:<region>::cert:<id>``.
  Listed newest ``ValidFrom`` first, as the AWS CLI example shows.
- DescribeCertificates: ``CertificateIdentifier`` (case-insensitive, as documented) narrows the list
  to one certificate, unknown -> ``CertificateNotFound`` (HTTP 404). ``Filters`` is accepted and
  ignored ("This parameter isn't currently supported"). ``MaxRecords`` must be 20..100 (default
  100), else ``InvalidParameterValue``; ``Marker`` is the opaque token of the previous page.
  ``DefaultCertificateForNewLaunches`` is the override when one is set, else the system default.
  Each certificate carries ``CustomerOverride``; only the overridden one carries
  ``CustomerOverrideValidTill``, equal to its ``ValidTill``.
- ModifyCertificates: ``CertificateIdentifier`` sets the override and returns that certificate;
  ``RemoveCustomerOverride=True`` removes it and returns the certificate that had been overridden
  (when none was, the system default one, not overridden). Exactly one of the two parameters must
  be present: both (even ``RemoveCustomerOverride=False``) or neither -> ``InvalidParameterCombination``
  (400). This is stricter than AWS may be; a handler should never send an ambiguous request.
  An expired certificate (rds-ca-2019) can be chosen: what AWS does today is not verified.

Test hooks (all thread-safe; their state also lives in a ``BackendDict``, so ``mock_aws()`` start
and stop and ``POST /moto-api/reset`` clear it: arrange them *inside* the mock)::

    install() -> None
        Patch RDSResponse (idempotent). Importing this module calls it.
    calls() -> list[RDSCall]
        Every RDS request received since the last reset, in order, as ``RDSCall(region, action)``
        named tuples (they compare equal to plain ``(region, action)`` tuples). Each HTTP attempt
        counts, so botocore retries show up; faulted and delayed calls are logged too.
    reset_calls() -> None
    inject_fault(action, *, code="Throttling", status=400, count=1, message=None, region=None) -> None
        The next ``count`` calls of ``action`` (e.g. "ModifyCertificates"; any RDS action; ``count=None``
        means every call until ``clear_faults()``), optionally only in ``region``, answer the error
        ``code`` with HTTP ``status`` instead of running. boto3 raises ``botocore.exceptions.ClientError``
        with ``e.response["Error"]["Code"] == code`` and ``["ResponseMetadata"]["HTTPStatusCode"] == status``.
        botocore retries throttling codes and 5xx itself: a client with default retries absorbs
        ``count=1``; use ``Config(retries={"total_max_attempts": 1})`` to see the first failure.
    inject_delay(action, seconds, count=1, *, region=None) -> None
        The next ``count`` calls of ``action`` sleep ``seconds`` first (in the server's request thread
        over HTTP, so a short client ``read_timeout`` turns it into ``ReadTimeoutError``; in-process
        the caller just waits). A delay and a fault on the same call both apply, delay first.
    clear_faults() -> None
        Remove every pending fault and delay.
    set_override(account_id, region, certificate_id) -> None
        Arrange the account's override directly (``None`` removes it); unknown id -> CertificateNotFoundFault.
    current_override(account_id, region) -> str | None
    set_system_default(account_id, region, certificate_id) -> None
        Change which certificate the region uses when no override is set.
    add_certificate(account_id, region, certificate_id, *, valid_from, valid_till, thumbprint=None)
        -> Certificate
        Add a certificate to one account and region (e.g. a region-suffixed id), to test that a handler
        validates against DescribeCertificates rather than a fixed list.

``account_id`` is the account moto derives from the credentials: ``DEFAULT_ACCOUNT_ID``
(123456789012) for the usual dummy keys.

Data sources: ``ValidFrom``, ``ValidTill`` and ``Thumbprint`` come from the AWS CLI example output of
``aws rds describe-certificates`` (aws-cli, ``awscli/examples/rds/describe-certificates.rst``), taken
in us-west-2. Real values differ by region (the CLI's ``modify-certificates`` example shows rds-ca-2019
in us-east-1 valid from 2019-09-19T18:16:53Z); the emulator uses the us-west-2 values everywhere.
Certificates added with ``add_certificate`` without a thumbprint get a synthetic one: the SHA-1 hex
digest of ``"<region>/<certificate_id>"``, deterministic and 40 hex digits like the real ones.

moto traps met on the way (5.2.5):

- moto finds an exception's service model from its module name (``exception.__module__.split(".")[1]``)
  whenever that name starts with ``"moto"``; this module's name does, has no dot, and that lookup
  raises ``IndexError``. The exception classes here therefore declare ``moto.rds.exceptions`` as their
  module, which is where they would live upstream. The same rule forbids subclassing moto's
  ``BaseModel`` here (``InstanceTrackerMeta`` splits the module name too): ``Certificate`` is a dataclass.
- An error class's ``code`` must be the botocore shape *name* (``CertificateNotFoundFault``); moto then
  sends the shape's wire code (``CertificateNotFound``) and HTTP status (404). A code missing from the
  RDS model (``Throttling``) is sent as is, always with HTTP 400 and ``<Type>Sender</Type>``, and
  with a ``UserWarning``; injected faults override the status and silence that warning.
- ``BaseResponse.call_action`` finds actions with ``inspect.isfunction``: patched-in methods must be
  plain functions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_types import TYPE_RESPONSE
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionContext, ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.rds.exceptions import InvalidParameterCombination, InvalidParameterValue, RDSClientError
from moto.rds.responses import RDSResponse

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CATALOG",
    "SYSTEM_DEFAULT_CERTIFICATE",
    "Certificate",
    "CertificateNotFoundFault",
    "InjectedFault",
    "RDSCall",
    "RDSCertificatesBackend",
    "add_certificate",
    "calls",
    "clear_faults",
    "current_override",
    "inject_delay",
    "inject_fault",
    "install",
    "rds_certificates_backends",
    "reset_calls",
    "set_override",
    "set_system_default",
]


# --------------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------------


class CatalogEntry(NamedTuple):
    """One CA certificate every account and region starts with."""

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


# --------------------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------------------

_E = TypeVar("_E", bound=type[Exception])


def _in_moto_rds_exceptions(cls: _E) -> _E:
    """Declare ``cls`` as living in ``moto.rds.exceptions`` (see the module docstring: moto derives
    the service model from the module name, and this module's name breaks that lookup)."""
    cls.__module__ = "moto.rds.exceptions"
    return cls


@_in_moto_rds_exceptions
class CertificateNotFoundFault(RDSClientError):
    """``CertificateIdentifier`` doesn't refer to an existing certificate (wire code
    ``CertificateNotFound``, HTTP 404, from the botocore shape ``CertificateNotFoundFault``)."""

    code = "CertificateNotFoundFault"

    def __init__(self, certificate_identifier: str) -> None:
        super().__init__(f"Certificate {certificate_identifier} not found.")


@_in_moto_rds_exceptions
class InjectedFault(RDSClientError):
    """An error a test asked for with :func:`inject_fault`; answered with ``status``."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.status = status


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Certificate:
    """A CA certificate as DescribeCertificates shows it (the botocore ``Certificate`` shape).

    Attribute names are the shape's member names in snake_case, which moto's serializer picks up.
    Catalog entries always have ``customer_override=False``; the backend returns copies with the
    flag set for the overridden one.
    """

    certificate_identifier: str
    thumbprint: str
    valid_from: datetime
    valid_till: datetime
    region_name: str
    partition: str
    certificate_type: str = "CA"
    customer_override: bool = False

    @property
    def certificate_arn(self) -> str:
        """``arn:<partition>:rds:<region>::cert:<id>`` (certificates belong to no account)."""
        return f"arn:{self.partition}:rds:{self.region_name}::cert:{self.certificate_identifier}"

    @property
    def customer_override_valid_till(self) -> datetime | None:
        """When the override expires: the certificate's own ``ValidTill``; absent when not overridden."""
        return self.valid_till if self.customer_override else None


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
                thumbprint=entry.thumbprint,
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

        Without ``thumbprint``, a synthetic one: SHA-1 hex of ``"<region>/<certificate_identifier>"``.
        """
        if thumbprint is None:
            digest_input = f"{self.region_name}/{certificate_identifier}".encode()
            thumbprint = hashlib.sha1(digest_input, usedforsecurity=False).hexdigest()
        certificate = Certificate(
            certificate_identifier=certificate_identifier,
            thumbprint=thumbprint,
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
                listed = sorted(
                    self._certificates.values(),
                    key=lambda c: (c.valid_from, c.certificate_identifier),
                    reverse=True,
                )
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


# --------------------------------------------------------------------------------------------------
# Responses (bound to moto.rds.responses.RDSResponse by install())
# --------------------------------------------------------------------------------------------------


def _certificates_backend(response: BaseResponse) -> RDSCertificatesBackend:
    return rds_certificates_backends[response.current_account][response.region]


def describe_certificates(self: RDSResponse) -> ActionResult:
    """``RDSResponse.describe_certificates``."""
    certificates, marker, default = _certificates_backend(self).describe_certificates(
        certificate_identifier=self.params.get("CertificateIdentifier"),
        max_records=self.params.get("MaxRecords"),
        marker=self.params.get("Marker"),
    )
    return ActionResult(
        {
            "DefaultCertificateForNewLaunches": default,
            "Certificates": certificates,
            "Marker": marker,
        }
    )


def modify_certificates(self: RDSResponse) -> ActionResult:
    """``RDSResponse.modify_certificates``."""
    certificate = _certificates_backend(self).modify_certificates(
        certificate_identifier=self.params.get("CertificateIdentifier"),
        remove_customer_override=self.params.get("RemoveCustomerOverride"),
    )
    return ActionResult({"Certificate": certificate})


# --------------------------------------------------------------------------------------------------
# Test hooks: call log, fault and delay injection
# --------------------------------------------------------------------------------------------------


class RDSCall(NamedTuple):
    """One RDS request as the call log records it."""

    region: str
    action: str


@dataclasses.dataclass
class _Rule:
    action: str
    region: str | None
    remaining: int | None  # None: until cleared
    fault: InjectedFault | None = None
    delay: float = 0.0

    def take(self, region: str, action: str) -> bool:
        """Consume one use of this rule if it matches the call."""
        if self.action != action or (self.region is not None and self.region != region):
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class _TestHooks(BaseBackend):
    """Call log and pending faults/delays. A moto backend only so that moto's resets clear it."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = threading.Lock()
        self.calls: list[RDSCall] = []
        self.faults: list[_Rule] = []
        self.delays: list[_Rule] = []

    def on_call(self, region: str, action: str) -> tuple[float, InjectedFault | None]:
        """Log the call; return the delay and fault it must suffer."""
        with self.lock:
            self.calls.append(RDSCall(region, action))
            delay = next((r.delay for r in self.delays if r.take(region, action)), 0.0)
            fault = next((r.fault for r in self.faults if r.take(region, action)), None)
        return delay, fault


# One pseudo account and region: the hooks are process-wide.
_HOOKS_KEY = "aws"
_test_hooks: BackendDict[_TestHooks] = BackendDict(
    _TestHooks, "rds", use_boto3_regions=False, additional_regions=[_HOOKS_KEY]
)


def _hooks() -> _TestHooks:
    return _test_hooks[DEFAULT_ACCOUNT_ID][_HOOKS_KEY]


def _check_action(action: str) -> None:
    if action not in get_service_model("rds").operation_names:
        raise ValueError(f"{action!r} is not an RDS action (expected e.g. 'ModifyCertificates')")


def _check_count(count: int | None) -> None:
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1, or None for every call; got {count}")


_FAULT_WARNING = r"Exception\(InjectedFault\) with code .* does not match an error shape"


def _silence_fault_warning() -> None:
    # Injected codes (Throttling...) are not RDS error shapes, so moto warns on every one. The
    # filter is process-wide (it must reach the server's threads) and matches only our class.
    warnings.filterwarnings("ignore", message=_FAULT_WARNING, category=UserWarning)


def calls() -> list[RDSCall]:
    """Every RDS request since the last reset, in arrival order, as ``RDSCall(region, action)``."""
    hooks = _hooks()
    with hooks.lock:
        return list(hooks.calls)


def reset_calls() -> None:
    """Empty the call log."""
    hooks = _hooks()
    with hooks.lock:
        hooks.calls.clear()


def inject_fault(
    action: str,
    *,
    code: str = "Throttling",
    status: int = 400,
    count: int | None = 1,
    message: str | None = None,
    region: str | None = None,
) -> None:
    """Make the next ``count`` calls of ``action`` (in ``region``, or any) fail with ``code``/``status``.

    ``count=None`` fails every call until :func:`clear_faults`. Typical: ``Throttling`` 400,
    ``InternalFailure`` 500, ``ServiceUnavailable`` 503.
    """
    _check_action(action)
    _check_count(count)
    if not 400 <= status <= 599:
        raise ValueError(f"status must be an HTTP error status (400-599); got {status}")
    _silence_fault_warning()
    fault = InjectedFault(code, message or f"Injected {code} for {action}", status)
    hooks = _hooks()
    with hooks.lock:
        hooks.faults.append(_Rule(action, region, count, fault=fault))


def inject_delay(action: str, seconds: float, count: int | None = 1, *, region: str | None = None) -> None:
    """Make the next ``count`` calls of ``action`` (in ``region``, or any) wait ``seconds`` first."""
    _check_action(action)
    _check_count(count)
    if seconds < 0:
        raise ValueError(f"seconds must not be negative; got {seconds}")
    hooks = _hooks()
    with hooks.lock:
        hooks.delays.append(_Rule(action, region, count, delay=seconds))


def clear_faults() -> None:
    """Remove every pending fault and delay."""
    hooks = _hooks()
    with hooks.lock:
        hooks.faults.clear()
        hooks.delays.clear()


def set_override(account_id: str, region: str, certificate_id: str | None) -> None:
    """Set the account's override in ``region`` directly (``None`` removes it)."""
    rds_certificates_backends[account_id][region].set_customer_override(certificate_id)


def current_override(account_id: str, region: str) -> str | None:
    """The account's override in ``region``, or ``None``."""
    return rds_certificates_backends[account_id][region].customer_override


def set_system_default(account_id: str, region: str, certificate_id: str) -> None:
    """Change the certificate ``region`` uses for new launches when no override is set."""
    rds_certificates_backends[account_id][region].set_system_default(certificate_id)


def add_certificate(
    account_id: str,
    region: str,
    certificate_id: str,
    *,
    valid_from: datetime,
    valid_till: datetime,
    thumbprint: str | None = None,
) -> Certificate:
    """Add a certificate to one account's catalog in ``region``."""
    return rds_certificates_backends[account_id][region].add_certificate(
        certificate_id, valid_from=valid_from, valid_till=valid_till, thumbprint=thumbprint
    )


class _FaultResult(ActionResult):
    """Serialize an :class:`InjectedFault` as moto would, but with the status the test asked for."""

    def __init__(self, fault: InjectedFault) -> None:
        super().__init__(fault)
        self.status = fault.status

    def execute_result(self, context: ActionContext) -> TYPE_RESPONSE:
        _, headers, body = super().execute_result(context)
        return self.status, headers, body


_original_call_action: dict[str, Callable[[BaseResponse], TYPE_RESPONSE]] = {}


def _call_action_with_hooks(self: RDSResponse) -> TYPE_RESPONSE:
    """``RDSResponse.call_action``: log the call, apply injected delay and fault, else go on."""
    delay, fault = _hooks().on_call(self.region, self._get_action())
    if delay:
        time.sleep(delay)
    if fault is not None:
        status, headers, body = self.serialized(_FaultResult(fault))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body
    return _original_call_action["call_action"](self)


_install_lock = threading.Lock()


def install() -> None:
    """Add DescribeCertificates/ModifyCertificates and the test hooks to moto's RDSResponse (idempotent)."""
    with _install_lock:
        if "call_action" in _original_call_action:
            return
        _silence_fault_warning()
        responses: Any = RDSResponse
        _original_call_action["call_action"] = responses.call_action
        responses.describe_certificates = describe_certificates
        responses.modify_certificates = modify_certificates
        responses.call_action = _call_action_with_hooks


install()
