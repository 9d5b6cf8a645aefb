"""RDS ``DescribeCertificates`` / ``ModifyCertificates`` for moto 5 (which answers both with
``NotImplementedError``), the CA-related parts of DB instances and engine versions that moto leaves out, and
test hooks: the call log, injected faults and delays, and state arranged directly.

Nothing is patched into moto at import: call ``install()`` (idempotent) before the first request. The same
code then serves ``with mock_aws():`` and ``moto.server.ThreadedMotoServer`` in the same process; the state
lives in moto ``BackendDict`` s, so ``mock_aws()`` and ``POST /moto-api/reset`` clear it. ``account_id`` is
the account moto derives from the credentials: ``DEFAULT_ACCOUNT_ID`` (123456789012) for dummy keys.

Modules: ``models`` (catalog, certificates, the backend), ``responses`` (the two actions), ``instances``
(DB instances and engine versions), ``rotation`` (pending maintenance actions, Multi-AZ DB clusters' CA,
instance states, concurrent writes), ``exceptions``, ``hooks``. What the emulator answers and where its
data comes from: docs/design.md, "The RDS emulator".
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
    add_engine_version,
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
    "add_engine_version",
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
