"""The declarations ledger: which resource declared which CA for a region. Pure data and decisions.

The RDS setting is one per account and region, but any number of resources, in any stacks and regions, can
declare it. Each declaration is one standard SSM parameter in the *target* region (where every provider that
manages the region can see it; `ledger.py` makes the calls):

    /rds-certificate-override/declarations/<stack name>/<stack uuid>/<logical id>

readable in the console and by `aws ssm get-parameters-by-path`, scoped in IAM by the path, unique per
resource (a stack's uuid is never reused). Its value is the JSON of `Declaration`. A region lock,
`/rds-certificate-override/region-lock-<generation>`, serialises the events for one region (`decide_lock`
below; `ledger.RegionLock` makes its calls). The lock's generations are the direct children of the ledger's
path, so one non-recursive GetParametersByPath reads the lock alone; the declarations are read apart, once
the lock is held.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

LEDGER_PATH = "/rds-certificate-override"
DECLARATIONS_PATH = f"{LEDGER_PATH}/declarations"
# The single-name lock of release 0.1: still respected while its lease runs, as an upgrade rolls out.
LEGACY_LOCK_NAME = f"{LEDGER_PATH}/lock"
FORMAT_VERSION = 1
# SSM's standard tier holds values up to 4 KB: a larger one would be escalated to the paid tier or refused.
MAX_VALUE_BYTES = 4096


class WriteState(StrEnum):
    PENDING = "pending"
    """Recorded before ModifyCertificates: the write may or may not have landed."""
    APPLIED = "applied"
    """The declared CA was confirmed standing (written, or already there)."""
    WITHDRAWN = "withdrawn"
    """Not a declaration: the rollback Delete of the failed Create `RequestId`. It stops that Create, if
    Lambda delivers it again, from declaring anything for a resource CloudFormation has already deleted."""


class ConflictError(RuntimeError):
    """Another live resource declares a different CA for the region."""


class UnreadableLedgerError(RuntimeError):
    """A ledger entry this version cannot read stands in the way of a change: it may declare any CA."""


class LedgerValueTooLarge(ValueError):
    """A declaration would not fit SSM's standard tier."""


@dataclass(frozen=True)
class StackRef:
    """A CloudFormation stack ARN: arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>."""

    arn: str
    region: str
    name: str
    uuid: str

    @classmethod
    def parse(cls, arn: str) -> StackRef | None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "cloudformation":
            return None
        kind, _, rest = parts[5].partition("/")
        name, _, uuid = rest.partition("/")
        if kind != "stack" or not name or not uuid or "/" in uuid:
            return None
        return cls(arn=arn, region=parts[3], name=name, uuid=uuid)


def parameter_name(stack_id: str, logical_id: str) -> str:
    """The declaration's SSM parameter name. Stack names, stack uuids and logical ids only hold characters
    that SSM names allow; anything else (never sent by CloudFormation) gets a digest instead."""
    stack = StackRef.parse(stack_id)
    if stack is None or not logical_id.isalnum():
        digest = hashlib.sha256(f"{stack_id}|{logical_id}".encode()).hexdigest()[:32]
        return f"{DECLARATIONS_PATH}/other/{digest}"
    return f"{DECLARATIONS_PATH}/{stack.name}/{stack.uuid}/{logical_id}"


@dataclass(frozen=True)
class Declaration:
    """What one resource declared for the region, and what stood before the region's first declaration."""

    stack_id: str
    logical_id: str
    certificate: str
    previous_override: str | None
    restore_previous: bool
    state: WriteState
    request_id: str
    updated_at: str
    request_sent_at: str | None = None
    """When CloudFormation sent the request that wrote it (its ResponseURL's signing time), when known:
    a delivery of an older request of the same resource then knows it is late."""

    @property
    def name(self) -> str:
        return parameter_name(self.stack_id, self.logical_id)

    @property
    def holder(self) -> str:
        """The declaring resource, as people know it: `stack <name>, resource <logical id>`."""
        stack = StackRef.parse(self.stack_id)
        return f"stack {stack.name if stack else self.stack_id}, resource {self.logical_id}"

    @property
    def withdrawn(self) -> bool:
        return self.state is WriteState.WITHDRAWN

    def to_json(self) -> str:
        """The parameter's value: the names people see in the console and `aws ssm get-parameter`. Raises
        LedgerValueTooLarge for a value SSM's standard tier cannot hold, before anything is written."""
        value = json.dumps(
            {
                "Version": FORMAT_VERSION,
                "StackId": self.stack_id,
                "LogicalResourceId": self.logical_id,
                "CertificateIdentifier": self.certificate,
                "PreviousOverride": self.previous_override,
                "RestorePreviousOnDelete": self.restore_previous,
                "State": self.state.value,
                "RequestId": self.request_id,
                "UpdatedAt": self.updated_at,
                "RequestSentAt": self.request_sent_at,
            },
            separators=(",", ":"),
        )
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise LedgerValueTooLarge(
                f"The declaration of {self.holder} is {len(value.encode())} bytes, more than the "
                f"{MAX_VALUE_BYTES} bytes of an SSM standard parameter. Nothing was changed."
            )
        return value

    @classmethod
    def from_json(cls, text: str) -> Declaration:
        """Raises ValueError for a value this version cannot read: not JSON, another Version, a field
        missing or of another type. Such an entry is never trusted, and never taken for absent."""
        raw: Any = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004 - every unreadable value is a ValueError
        version = raw.get("Version")
        if type(version) is not int or version != FORMAT_VERSION:
            raise ValueError(f"Version {version!r} is not {FORMAT_VERSION}, the version this function reads")
        strings = {
            key: raw.get(key) for key in ("StackId", "LogicalResourceId", "CertificateIdentifier", "State")
        }
        for key, value in strings.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} must be a non-empty string")
        previous = raw.get("PreviousOverride")
        if previous is not None and not isinstance(previous, str):
            raise ValueError("PreviousOverride must be a string or null")
        sent_at = raw.get("RequestSentAt")
        if sent_at is not None and not isinstance(sent_at, str):
            raise ValueError("RequestSentAt must be a string or null")
        restore = raw.get("RestorePreviousOnDelete", False)
        if not isinstance(restore, bool):
            raise ValueError("RestorePreviousOnDelete must be true or false")  # noqa: TRY004
        try:
            state = WriteState(raw["State"])
        except ValueError as error:
            raise ValueError(f"State must be one of {', '.join(WriteState)}") from error
        return cls(
            stack_id=raw["StackId"],
            logical_id=raw["LogicalResourceId"],
            certificate=raw["CertificateIdentifier"],
            previous_override=previous or None,
            restore_previous=restore,
            state=state,
            request_id=str(raw.get("RequestId", "")),
            updated_at=str(raw.get("UpdatedAt", "")),
            request_sent_at=sent_at or None,
        )

    def same_declaration(self, other: Declaration) -> bool:
        """True when recording `other` would change nothing but the request id and the time."""
        unstamped = {"request_id": "", "updated_at": "", "request_sent_at": None}
        return replace(self, **unstamped) == replace(other, **unstamped)  # type: ignore[arg-type]


@dataclass(frozen=True)
class UnreadableEntry:
    """A ledger entry this version cannot read (edited by hand, or written by a newer version)."""

    name: str
    error: str

    def repair_hint(self) -> str:
        return (
            f"The ledger entry {self.name} cannot be read ({self.error}): it may declare any CA, so "
            "the override is not changed while it stands. Repair its value (docs/reliability.md) or, if "
            f"its stack is gone, delete it: aws ssm delete-parameter --name {self.name}"
        )


@dataclass(frozen=True)
class Ledger:
    """One reading of a region's ledger: its declarations, the entries that cannot be read, and its lock."""

    declarations: tuple[Declaration, ...]
    unreadable: tuple[UnreadableEntry, ...]
    lock: LockState

    @classmethod
    def parse(cls, parameters: Iterable[tuple[str, str]]) -> Ledger:
        """From the (name, value) pairs of GetParametersByPath under LEDGER_PATH."""
        declarations, unreadable = [], []
        generations: dict[int, str] = {}
        legacy: str | None = None
        for name, value in parameters:
            if name == LEGACY_LOCK_NAME:
                legacy = value
            elif (generation := lock_generation(name)) is not None:
                generations[generation] = value
            elif name.startswith(f"{DECLARATIONS_PATH}/"):
                try:
                    declaration = Declaration.from_json(value)
                except ValueError as error:
                    unreadable.append(UnreadableEntry(name, str(error)))
                    continue
                if declaration.name != name:
                    unreadable.append(
                        UnreadableEntry(name, f"it names another resource ({declaration.holder})")
                    )
                    continue
                declarations.append(declaration)
        return cls(tuple(declarations), tuple(unreadable), LockState(generations, legacy))


@dataclass(frozen=True)
class OwnView:
    """A ledger as one resource sees it."""

    own: Declaration | None
    """This resource's declaration, if one is recorded (a withdrawn one included)."""
    others: list[Declaration]
    """Every other resource's declaration (withdrawn ones excluded: they declare nothing)."""
    own_unreadable: UnreadableEntry | None
    others_unreadable: list[UnreadableEntry]


def split_own(ledger: Ledger, stack_id: str, logical_id: str) -> OwnView:
    """This resource's entry (if recorded) and everyone else's."""
    own_name = parameter_name(stack_id, logical_id)
    own = next((d for d in ledger.declarations if d.name == own_name), None)
    others = [d for d in ledger.declarations if d.name != own_name and not d.withdrawn]
    own_unreadable = next((u for u in ledger.unreadable if u.name == own_name), None)
    others_unreadable = [u for u in ledger.unreadable if u.name != own_name]
    return OwnView(own, others, own_unreadable, others_unreadable)


def conflicting(others: Iterable[Declaration], wanted: str) -> list[Declaration]:
    """The declarations of another CA than `wanted`: each one, if live, refuses the change."""
    return [declaration for declaration in others if declaration.certificate != wanted]


def conflict_message(region: str, wanted: str, holder: Declaration) -> str:
    return (
        f"CertificateIdentifier {wanted} conflicts with {holder.certificate}, which {holder.holder} "
        f"declares for {region}: the default CA is one per account and region. Nothing was changed. "
        f"Declare {holder.certificate} here too, or first change or delete that declaration."
    )


def previous_override(
    *,
    own: Declaration | None,
    legacy_previous: str | None,
    live_other: Declaration | None,
    standing: str | None,
) -> str | None:
    """What stood before the region's first declaration: recorded once and then carried along, so that a
    redelivered Create or a joining resource does not mistake a declared override for the one before.
    `live_other` is another *live* declaration: a stale one (its stack gone) speaks of an era that ended,
    and what stands now (perhaps set by hand since) is what stood before this one."""
    if own is not None and not own.withdrawn:
        return own.previous_override
    if legacy_previous is not None:
        return legacy_previous  # a resource created before the ledger carries it in its physical id
    if live_other is not None:
        return live_other.previous_override
    return standing


# The region lock. Each acquisition creates the next generation, `<LEDGER_PATH>/region-lock-<n>`, with a
# create-only PutParameter: of two takers only one can create it. The highest generation's value is the lock:
# a lease (its holder and when it ends) or free. Its holder frees it by creating the next generation, free;
# that too is create-only, so a holder that was taken over frees nothing. A name is never created twice while
# anyone who could have tried to create it may still run: generations are deleted only once older than any
# invocation lives (`LOCK_GENERATION_LIFETIME_SECONDS`), the highest never. So an SDK retry of a take that
# stalled cannot create a generation again after others used and freed it, and a take whose answer was lost
# finds its own lease, by its value, on top.
FIRST_GENERATION = 1
LAMBDA_LONGEST_TIMEOUT_SECONDS = 900.0
CLOCK_SKEW_MARGIN_SECONDS = 60.0
LOCK_GENERATION_LIFETIME_SECONDS = LAMBDA_LONGEST_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS
# A withdrawal stops a late delivery of a failed Create from declaring. No delivery can act later than
# CloudFormation's longest wait (the function refuses it) plus the longest invocation: then it goes.
CLOUDFORMATION_LONGEST_WAIT_SECONDS = 3600.0
WITHDRAWAL_LIFETIME_SECONDS = (
    CLOUDFORMATION_LONGEST_WAIT_SECONDS + LAMBDA_LONGEST_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS
)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lease: the resource, its request, and the one invocation (Lambda's request id) that
    took it. Two deliveries of one request are two invocations: neither may use the other's lease."""

    stack_id: str
    logical_id: str
    request_id: str
    invocation_id: str = ""

    def describe(self) -> str:
        stack = StackRef.parse(self.stack_id)
        name = stack.name if stack else self.stack_id
        return f"stack {name}, resource {self.logical_id}, request {self.request_id}"


def lock_value(holder: LockHolder, expires_at: float, created_at: float) -> str:
    return json.dumps(
        {
            "StackId": holder.stack_id,
            "LogicalResourceId": holder.logical_id,
            "RequestId": holder.request_id,
            "InvocationId": holder.invocation_id,
            "ExpiresAt": round(expires_at, 3),
            "CreatedAt": round(created_at, 3),
        },
        separators=(",", ":"),
    )


def free_lock_value(created_at: float) -> str:
    return json.dumps({"Free": True, "CreatedAt": round(created_at, 3)}, separators=(",", ":"))


@dataclass(frozen=True)
class Generation:
    """One generation's value: a lease (`holder` set, or None with `expires_at` 0 when it cannot be read:
    such a lease is over) or free."""

    free: bool
    holder: LockHolder | None
    expires_at: float
    created_at: float
    """0 when unknown: old enough to be deleted."""

    @classmethod
    def parse(cls, value: str) -> Generation:
        try:
            raw = json.loads(value)
        except ValueError:
            return cls(free=False, holder=None, expires_at=0.0, created_at=0.0)
        if not isinstance(raw, dict):
            return cls(free=False, holder=None, expires_at=0.0, created_at=0.0)
        created_at = _number(raw.get("CreatedAt"))
        if raw.get("Free") is True:
            return cls(free=True, holder=None, expires_at=0.0, created_at=created_at)
        try:
            holder = LockHolder(
                str(raw["StackId"]),
                str(raw["LogicalResourceId"]),
                str(raw["RequestId"]),
                str(raw.get("InvocationId", "")),
            )
        except KeyError:
            return cls(free=False, holder=None, expires_at=0.0, created_at=created_at)
        return cls(free=False, holder=holder, expires_at=_number(raw.get("ExpiresAt")), created_at=created_at)

    def describe(self) -> str:
        return self.holder.describe() if self.holder else "an unreadable lock"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass(frozen=True)
class LockState:
    generations: Mapping[int, str]
    legacy: str | None = None


@dataclass(frozen=True)
class TakeLock:
    generation: int
    reason: str


@dataclass(frozen=True)
class AlreadyHeld:
    """The highest generation is this invocation's own lease: its take landed, though its answer was lost."""

    generation: int


@dataclass(frozen=True)
class WaitForLock:
    reason: str
    holder: LockHolder | None = None
    """The lease's holder, when it can be read."""


def decide_lock(state: LockState, me: LockHolder, now: float) -> TakeLock | AlreadyHeld | WaitForLock:
    """Whether `me` may create the next generation now, holds the lock already, or must wait for the holder.
    Only the lease's end frees a held lock: the same resource's next request waits too, for the earlier one
    may still be running until then (the fence keeps its writes before its own deadline)."""
    if state.legacy is not None and _legacy_expires_at(state.legacy) > now:
        return WaitForLock(f"held by an earlier release of this function ({state.legacy})")
    if not state.generations:
        return TakeLock(FIRST_GENERATION, "free")
    top = max(state.generations)
    generation = Generation.parse(state.generations[top])
    if generation.free:
        return TakeLock(top + 1, "free")
    if generation.holder == me:
        return AlreadyHeld(top)
    if generation.expires_at <= now:
        return TakeLock(top + 1, f"taking over from {generation.describe()}: its lease ended")
    return WaitForLock(f"held by {generation.describe()}", generation.holder)


def held_by_another_delivery(state: LockState, me: LockHolder) -> bool:
    """Whether another delivery (invocation) of `me`'s request holds or held the lock (within the
    generations kept): that one decided, and answers or answered. Acting again could contradict it."""
    holders = (Generation.parse(value).holder for value in state.generations.values())
    return any(
        holder is not None and holder.request_id == me.request_id and holder.invocation_id != me.invocation_id
        for holder in holders
    )


def generations_to_forget(state: LockState, now: float) -> tuple[int, ...]:
    """Generations below the highest that nobody still running can have tried to create."""
    if not state.generations:
        return ()
    top = max(state.generations)
    return tuple(
        sorted(
            number
            for number, value in state.generations.items()
            if number != top and Generation.parse(value).created_at + LOCK_GENERATION_LIFETIME_SECONDS <= now
        )
    )


def withdrawals_to_forget(declarations: Iterable[Declaration], now: float) -> tuple[str, ...]:
    """Withdrawals no delivery of their failed Create can still act against (or whose time is unknown)."""
    return tuple(
        sorted(
            declaration.name
            for declaration in declarations
            if declaration.withdrawn and _epoch(declaration.updated_at) + WITHDRAWAL_LIFETIME_SECONDS <= now
        )
    )


def _epoch(moment: str) -> float:
    try:
        return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def _legacy_expires_at(value: str) -> float:
    try:
        return float(json.loads(value)["ExpiresAt"])
    except (ValueError, KeyError, TypeError):
        return 0.0


LOCK_PREFIX = f"{LEDGER_PATH}/region-lock-"


def lock_name(generation: int) -> str:
    return f"{LOCK_PREFIX}{generation}"


def lock_generation(name: str) -> int | None:
    """The generation a parameter name is, or None for any other name."""
    number = name[len(LOCK_PREFIX) :] if name.startswith(LOCK_PREFIX) else ""
    return int(number) if number.isdigit() else None
