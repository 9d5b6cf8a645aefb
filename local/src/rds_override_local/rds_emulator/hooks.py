"""Test hooks: the call log, injected faults and delays, and state arranged directly.

Their state lives in a moto ``BackendDict`` too, so ``mock_aws()`` start and stop and
``POST /moto-api/reset`` clear it: arrange them *inside* the mock. All are thread-safe: over HTTP, moto's
server answers each request in its own thread.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_types import TYPE_RESPONSE
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionContext, ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.rds.responses import RDSResponse

from .exceptions import InjectedFault
from .models import Certificate, rds_certificates_backends


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


def silence_fault_warning() -> None:
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
    silence_fault_warning()
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


# RDSResponse.call_action as moto defines it, kept by install().
original_call_action: dict[str, Callable[[BaseResponse], TYPE_RESPONSE]] = {}


def call_action_with_hooks(self: RDSResponse) -> TYPE_RESPONSE:
    """``RDSResponse.call_action``: log the call, apply injected delay and fault, else go on."""
    delay, fault = _hooks().on_call(self.region, self._get_action())
    if delay:
        time.sleep(delay)
    if fault is not None:
        status, headers, body = self.serialized(_FaultResult(fault))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body
    return original_call_action["call_action"](self)
