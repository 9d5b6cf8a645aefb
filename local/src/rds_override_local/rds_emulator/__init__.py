"""RDS ``DescribeCertificates`` / ``ModifyCertificates`` for moto 5.2.5, the CA-related parts of DB
instances and engine versions that moto leaves out, plus test hooks.

moto 5.x answers both actions with ``NotImplementedError``. ``install()`` adds them to
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

DB instances and engine versions (``instances``): ``CreateDBInstance`` without ``CACertificateIdentifier``
gives the instance the region's ``DefaultCertificateForNewLaunches``; instances show ``CertificateDetails``
(``CAIdentifier``, and ``ValidTill``: the CA's unless arranged); ``DescribeDBEngineVersions`` answers with
``SupportedCACertificateIdentifiers`` (the catalog, less ``rds-ca-ecc384-g1`` for SQL Server).

CA rotation (``rotation``): pending maintenance actions (list, apply),
``SupportsCertificateRotationWithoutRestart``, Multi-AZ DB clusters with a CA, the CA as ``ModifyDBInstance``
/ ``ModifyDBCluster`` change it (pending until the window unless ``ApplyImmediately``), instance states,
and a gauge of concurrent write calls; see its docstring.
Hooks: ``add_pending_maintenance_action``, ``restrict_engine_version``, ``set_instance_status``,
``max_in_flight``.

Nothing is patched into moto at import: call ``install()`` (idempotent) before the first request.

Modules: ``models`` (catalog, certificates, the backend), ``responses`` (the two actions),
``instances`` (DB instances and engine versions), ``exceptions``, ``hooks`` (below).

Test hooks (all thread-safe; their state also lives in a ``BackendDict``, so ``mock_aws()`` start
and stop and ``POST /moto-api/reset`` clear it: arrange them *inside* the mock)::

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
    set_server_certificate_valid_till(account_id, region, db_instance_identifier, valid_till) -> None
        When one DB instance's server certificate expires (its ``CertificateDetails.ValidTill``).

``account_id`` is the account moto derives from the credentials: ``DEFAULT_ACCOUNT_ID``
(123456789012) for the usual dummy keys.

Data sources: ``ValidFrom``, ``ValidTill`` and ``Thumbprint`` come from the AWS CLI example output of
``aws rds describe-certificates`` (aws-cli, ``awscli/examples/rds/describe-certificates.rst``), taken
in us-west-2. Real values differ by region (the CLI's ``modify-certificates`` example shows rds-ca-2019
in us-east-1 valid from 2019-09-19T18:16:53Z); the emulator uses the us-west-2 values everywhere.
Certificates added with ``add_certificate`` without a thumbprint get a synthetic one: the SHA-1 hex
digest of ``"<region>/<certificate_id>"``, deterministic and 40 hex digits like the real ones.

moto traps met on the way (5.2.5):

- An error class's ``code`` must be the botocore shape *name* (``exceptions``).
- moto files a ``BaseModel`` subclass under the second part of its module name (moto's service name only
  inside moto): ``Certificate`` is a dataclass instead.
- ``BaseResponse.call_action`` finds actions with ``inspect.isfunction``: patched-in methods must be
  plain functions.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.rds.responses import RDSResponse

from . import hooks, instances, responses, rotation
from .exceptions import CertificateNotFoundFault, InjectedFault
from .hooks import (
    RDSCall,
    add_certificate,
    calls,
    clear_faults,
    current_override,
    inject_delay,
    inject_fault,
    reset_calls,
    set_override,
    set_system_default,
)
from .instances import set_server_certificate_valid_till, supported_ca_certificates
from .models import (
    DEFAULT_CATALOG,
    SYSTEM_DEFAULT_CERTIFICATE,
    Certificate,
    RDSCertificatesBackend,
    rds_certificates_backends,
)
from .rotation import (
    add_pending_maintenance_action,
    max_in_flight,
    restrict_engine_version,
    set_instance_status,
)

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
    "add_pending_maintenance_action",
    "calls",
    "clear_faults",
    "current_override",
    "inject_delay",
    "inject_fault",
    "install",
    "max_in_flight",
    "rds_certificates_backends",
    "reset_calls",
    "restrict_engine_version",
    "set_instance_status",
    "set_override",
    "set_server_certificate_valid_till",
    "set_system_default",
    "supported_ca_certificates",
]

_install_lock = threading.Lock()


def install() -> None:
    """Add DescribeCertificates/ModifyCertificates, the DB instance and engine version parts and the test
    hooks to moto (idempotent)."""
    with _install_lock:
        if "call_action" in hooks.original_call_action:
            return
        hooks.silence_fault_warning()
        patched: Any = RDSResponse
        hooks.original_call_action["call_action"] = patched.call_action
        patched.describe_certificates = responses.describe_certificates
        patched.modify_certificates = responses.modify_certificates
        patched.call_action = hooks.call_action_with_hooks
        instances.install(patched)
        rotation.install(patched)
