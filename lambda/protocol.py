"""The region protocol: how one event changes a region's RDS default CA and its declarations ledger.

Read top to bottom, in the order of docs/design.md ("The region protocol"):

1. **take** the region's lock (`ledger.RegionLock`): a lease that ends `LEASE_MARGIN_SECONDS` after this
   invocation's own deadline, the earlier of Lambda's timer and CloudFormation's wait;
2. **read** the declarations, now that nobody else can change them;
3. **decide**: pure functions of `override` and `declarations`;
4. **fence** every write (`Fence.check`): not answered yet, no other delivery of this request held the
   lock before, and made with as many SDK attempts as surely end before the deadline, so no write lands
   once the lease can end or CloudFormation has stopped waiting;
5. **write**: the intent (the declaration, pending), then RDS, then the outcome (applied);
6. **release** the lock (a failure is logged: the lease ends it).

`declare` (Create, Update) and `withdraw` (Delete) are the two uses; `withdraw_unchanged` is the one write
that needs no lock: the rollback of a Create that never held it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

import aws_sdk
import ledger
import rds_certificates as rds
from cfn_resource import TIMEOUT_MARGIN_SECONDS
from override import (
    REGION,
    Certificate,
    DeleteAction,
    DeletePlan,
    choose_certificate,
    current_override,
    iso8601,
    plan_delete,
)
from rds_override_ledger import aws_answers
from rds_override_ledger.declarations import (
    LAMBDA_LONGEST_TIMEOUT_SECONDS,
    ConflictError,
    Declaration,
    LockHolder,
    OwnView,
    UnreadableLedgerError,
    WriteState,
    conflict_message,
    conflicting,
    parameter_name,
    previous_override,
    split_own,
    withdrawals_to_forget,
)

# A child of the handler's Powertools logger: same JSON, same keys.
logger = logging.getLogger("rds-certificate-override.protocol")

# Waiting for the region's lock stops in time for the reads and a first write of three attempts (32 s, so
# that a request CloudFormation waits 60 s for can still wait); every write is fenced (`Fence.check`), with
# as many attempts as surely end before the deadline.
READS_BEFORE_THE_WRITE_SECONDS = 5.0
ATTEMPTS_KEPT_FOR_THE_FIRST_WRITE = 3
TIME_KEPT_FOR_THE_WORK_SECONDS = (
    aws_sdk.worst_case_seconds(ATTEMPTS_KEPT_FOR_THE_FIRST_WRITE) + READS_BEFORE_THE_WRITE_SECONDS
)
# A lease ends this long after its holder's deadline: past its timer's answer and Lambda stopping it, with
# room for clocks that differ. Only then may another event take the lock over.
LEASE_MARGIN_SECONDS = TIMEOUT_MARGIN_SECONDS + 10


class RegionRefused(RuntimeError):
    """The target region refuses this function's calls: nothing this function does can reach it."""


class ObsoleteEvent(RuntimeError):
    """An event CloudFormation no longer waits for: acting on it would declare what nobody owns."""


class FenceClosed(TimeoutError):
    """A write would not surely land before the answer is due: it is not started."""


@dataclass(frozen=True)
class Budget:
    """The time one event has. `seconds_until_timer` is 0 once CloudFormation was answered (by the timer);
    `cloudformation_deadline` (epoch seconds) is when CloudFormation stops waiting, when the event says."""

    clock: ledger.Clock
    seconds_until_timer: Callable[[], float]
    cloudformation_deadline: float | None

    def seconds_left(self) -> float:
        left = min(self.seconds_until_timer(), LAMBDA_LONGEST_TIMEOUT_SECONDS)
        if self.cloudformation_deadline is not None:
            left = min(left, self.cloudformation_deadline - self.clock.time())
        return left


@dataclass
class Progress:
    """Whether a request may have changed anything: false until it holds the lock and finds an earlier
    delivery's entry, or writes. A Create that fails before that answers that it changed nothing."""

    may_have_changed: bool = False


@dataclass(frozen=True)
class Fence:
    region: str
    budget: Budget
    another_delivery_held: bool = False
    """Another delivery of this request held the lock before this one: it decided and answers, so this one
    may read and answer as it did, but never write (the world may have changed since)."""

    def check(self, what: str, *, done: str = "Nothing was changed.") -> int:
        """How many attempts the write `what` may make: as many as surely end before the deadline. Raises
        FenceClosed when not even one does. `done` says what this request has changed already, for the
        answer's Reason."""
        if self.another_delivery_held:
            raise ledger.AnotherDeliveryHolds(
                f"Another delivery of this request held the lock of {self.region} before: it decided and "
                f"answers; this one does not {what}"
            )
        attempts = aws_sdk.attempts_within(self.budget.seconds_left())
        if attempts < 1:
            raise FenceClosed(
                f"Too little time left to {what} in {self.region} before the answer is due. {done}"
            )
        return attempts


_REFUSALS = (
    aws_answers.REGION_NOT_ENABLED_CODES | aws_answers.ACCESS_DENIED_CODES | {"ParameterLimitExceeded"}
)


class WriteFailed(RuntimeError):
    """A write failed after the SDK's retries; the message says what remains of this request's work."""


@contextmanager
def _remains(what: str) -> Iterator[None]:
    """A write that fails says, in the answer, what this request leaves behind (its lost answer may even
    have landed): CloudFormation's FAILED must not read as 'nothing changed' when something did."""
    try:
        yield
    except ClientError as error:
        if ledger.error_code(error) in _REFUSALS:
            raise  # refused, so not written: `_refusals_named` says so
        raise WriteFailed(f"{error}. {what}") from error
    except BotoCoreError as error:
        raise WriteFailed(f"{error}. {what}") from error


@dataclass(frozen=True)
class Held:
    """What an event may use while it holds the region: the ledger as its resource sees it, and the fence."""

    view: OwnView
    fence: Fence


@contextmanager
def holding(
    region: str,
    holder: LockHolder,
    budget: Budget,
    *,
    function_region: str,
    progress: Progress | None = None,
) -> Iterator[Held]:
    """Take the region's lock, read its declarations, yield; forget old withdrawals and release. A region
    that refuses the function's credentials or calls becomes a clear RegionRefused."""
    now = budget.clock.time()
    time_left = budget.seconds_left()
    lock = ledger.RegionLock(
        region,
        holder,
        deadline=now + time_left,
        give_up_at=now + max(time_left - TIME_KEPT_FOR_THE_WORK_SECONDS, 0.0),
        lease_margin=LEASE_MARGIN_SECONDS,
        clock=budget.clock,
    )
    with _refusals_named(region, function_region, progress):
        try:
            lock.acquire()
        except ledger.RegionBusy as busy:
            if not isinstance(busy, ledger.AnotherDeliveryHolds) and _acted_already(region, holder):
                # It gave up, but another delivery of its own request held the lock meanwhile and wrote:
                # "nothing changed" would be false. That delivery answers.
                raise ledger.AnotherDeliveryHolds(
                    f"Another delivery of this request acted ({busy})"
                ) from busy
            raise
    try:
        with _refusals_named(region, function_region, None):
            snapshot = ledger.read_declarations(region)
            view = split_own(snapshot, holder.stack_id, holder.logical_id)
            if progress is not None and view.own is not None and view.own.request_id == holder.request_id:
                progress.may_have_changed = True  # an earlier delivery of this request acted
            fence = Fence(region, budget, another_delivery_held=lock.another_delivery_held)
            yield Held(view, fence)
            _forget_old_withdrawals(region, snapshot.declarations, budget, fence)
    finally:
        lock.release()


def _own_entry(region: str, holder: LockHolder) -> Declaration | None:
    """This resource's entry as it stands now (one read, no lock), or None: absent or unreadable."""
    value = ledger.read_entry(region, parameter_name(holder.stack_id, holder.logical_id))
    try:
        return Declaration.from_json(value) if value is not None else None
    except ValueError:
        return None


def _acted_already(region: str, holder: LockHolder) -> bool:
    """Whether this resource's entry was written by this very request (by another of its deliveries)."""
    entry = _own_entry(region, holder)
    return entry is not None and not entry.withdrawn and entry.request_id == holder.request_id


def _forget_old_withdrawals(
    region: str, declarations: tuple[Declaration, ...], budget: Budget, fence: Fence
) -> None:
    if not (old := withdrawals_to_forget(declarations, budget.clock.time())):
        return
    try:
        attempts = fence.check("forget old withdrawals")
        ledger.forget_all(region, old, attempts=attempts)
    except (FenceClosed, ClientError) as error:
        logger.warning(
            "Old withdrawals were left for a later event", extra={"region": region, "error": str(error)}
        )


@contextmanager
def _refusals_named(region: str, function_region: str, progress: Progress | None) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = ledger.error_code(error)
        if code in aws_answers.REGION_NOT_ENABLED_CODES and region != function_region:
            reason = (
                f"{REGION} {region} refuses this account's credentials ({code}): it is probably an opt-in "
                "region that the account has not enabled. Enable it (AWS Account Management, Regions) or "
                "stop declaring it. Nothing was changed."
            )
        elif code in aws_answers.ACCESS_DENIED_CODES:
            reason = (
                f"{REGION} {region}: {error.operation_name} was denied ({code}): a policy (an SCP that "
                "denies the region, or the function's role) refuses it. Nothing was changed by this request."
            )
        elif code == "ParameterLimitExceeded":
            reason = (
                f"SSM Parameter Store in {region} is at its quota of 10,000 standard parameters, so the "
                "declaration cannot be recorded. Delete unused parameters or ask for a higher quota "
                "(Service Quotas, AWS Systems Manager). Nothing was changed."
            )
        else:
            raise
        raise RegionRefused(reason) from error


class _Liveness:
    """Which declaring stacks still exist, asked once each per event (DescribeStacks in the stack's own
    region), and only as far as a decision needs. Declarations found stale are removed from the ledger."""

    def __init__(self, region: str, fence: Fence) -> None:
        self._region = region
        self._fence = fence
        self._gone: dict[str, bool] = {}

    def first_live(self, candidates: list[Declaration]) -> Declaration | None:
        for candidate in candidates:
            if candidate.stack_id not in self._gone:
                self._gone[candidate.stack_id] = ledger.stack_gone(candidate.stack_id)
                if self._gone[candidate.stack_id]:
                    self._remove_stale(candidate)
            if not self._gone[candidate.stack_id]:
                return candidate
        return None

    def _remove_stale(self, declaration: Declaration) -> None:
        logger.warning(
            "Removing a stale declaration: its stack is gone",
            extra={"region": self._region, "declaration": declaration.name, "holder": declaration.holder},
        )
        attempts = self._fence.check("remove a stale declaration")
        ledger.forget(self._region, declaration.name, attempts=attempts)


@dataclass(frozen=True)
class Declared:
    """What `declare` made stand: the certificate and what stood before the region's first declaration."""

    certificate: Certificate
    previous_override: str | None


def declare(
    request: Request,
    *,
    certificate_identifier: str,
    restore_previous: bool,
    legacy_previous: str | None,
    progress: Progress | None = None,
) -> Declared:
    """Make `certificate_identifier` stand in the request's region, and record this resource's declaration."""
    region = request.region
    with holding(
        region, request.holder, request.budget, function_region=request.function_region, progress=progress
    ) as held:
        view, fence = held.view, held.fence
        own = view.own
        if own is not None and own.withdrawn:
            if own.request_id == request.holder.request_id:
                raise ObsoleteEvent(
                    f"This Create was already rolled back (its Delete ran at {own.updated_at}): it is a late "
                    "or repeated delivery, and changes nothing."
                )
            if request.sent_before(own.updated_at):
                raise ObsoleteEvent(
                    f"This request was sent before its resource was deleted (at {own.updated_at}): it is a "
                    "late or repeated delivery, and changes nothing."
                )
            own = None  # the withdrawal of an earlier resource of the same name: no declaration
        if own is not None and request.sent_before_request(own):
            raise ObsoleteEvent(
                f"A later request of this resource (sent at {own.request_sent_at}) has acted since: this one "
                "is a late or repeated delivery, and changes nothing."
            )
        if view.own_unreadable is not None:
            logger.warning("Replacing this resource's own unreadable ledger entry", extra={"region": region})
        certificates = rds.describe_certificates(region)
        standing = current_override(certificates)
        logger.debug(
            "The region's certificates and declarations",
            extra={
                "region": region,
                "certificates": [c.identifier for c in certificates],
                "override": standing,
                "declarations": [d.name for d in view.others] + ([own.name] if own else []),
                "unreadable": [u.name for u in view.others_unreadable],
            },
        )
        chosen = choose_certificate(certificates, certificate_identifier, datetime.now(UTC))
        liveness = _Liveness(region, fence)
        if holder := liveness.first_live(conflicting(view.others, chosen.identifier)):
            raise ConflictError(conflict_message(region, chosen.identifier, holder))
        write = standing != chosen.identifier
        if write and view.others_unreadable:
            raise UnreadableLedgerError(view.others_unreadable[0].repair_hint())
        needs_other = own is None and legacy_previous is None and bool(view.others)
        previous = previous_override(
            own=own,
            legacy_previous=legacy_previous,
            live_other=liveness.first_live(view.others) if needs_other else None,
            standing=standing,
        )
        declaration = Declaration(
            stack_id=request.holder.stack_id,
            logical_id=request.holder.logical_id,
            certificate=chosen.identifier,
            previous_override=previous,
            restore_previous=restore_previous,
            state=WriteState.PENDING if write else WriteState.APPLIED,
            request_id=request.holder.request_id,
            updated_at=request.now(),
            request_sent_at=request.sent_at,
        )
        declaration.to_json()  # refuses a value too large for SSM before anything is written
        # Recorded when it changes, and when this request is newer than the one that wrote it: a late
        # delivery of that older request (a failed Update after its rollback) must find it newer.
        if own is None or not own.same_declaration(declaration) or request.sent_after_request(own):
            # Intent before effect: a Delete always finds what this request may have written to RDS.
            attempts = fence.check(f"record the declaration of {chosen.identifier}")
            if progress is not None:
                progress.may_have_changed = True
            first = view.own is None and view.own_unreadable is None
            with _remains(
                f"Its declaration of {chosen.identifier} may remain recorded as pending; RDS was not changed."
            ):
                _record_intent(region, declaration, first=first, attempts=attempts)
        if write:
            recorded = f"Its declaration of {chosen.identifier} is recorded as pending; RDS was not changed."
            attempts = fence.check(f"set the RDS default CA to {chosen.identifier}", done=recorded)
            with _remains(
                f"Its declaration of {chosen.identifier} remains recorded as pending; the RDS default CA of "
                f"{region} may or may not have changed (the rollback undoes what did)."
            ):
                chosen = rds.set_override(region, chosen.identifier, attempts=attempts)
            now_standing = f"The RDS default CA of {region} is now {chosen.identifier}"
            attempts = fence.check(
                "record the declaration as applied", done=f"{now_standing}, recorded as pending."
            )
            applied = replace(declaration, state=WriteState.APPLIED, updated_at=request.now())
            with _remains(f"{now_standing}; its declaration remains recorded as pending."):
                ledger.record(region, applied, attempts=attempts)
            logger.info(
                "Override set",
                extra={"certificate": chosen.identifier, "region": region, "replaced": standing},
            )
        else:
            logger.info(
                "The override already stands", extra={"certificate": chosen.identifier, "region": region}
            )
    return Declared(chosen, previous)


def _record_intent(region: str, declaration: Declaration, *, first: bool, attempts: int) -> None:
    """A resource's first entry is written create-only: if a rollback Delete recorded its withdrawal since
    the ledger was read (it needs no lock), this Create is obsolete and must change nothing."""
    try:
        ledger.record(region, declaration, first=first, attempts=attempts)
    except ClientError as error:
        if first and ledger.error_code(error) == "ParameterAlreadyExists":
            raise ObsoleteEvent(
                "This resource was deleted while this Create waited: it changes nothing."
            ) from error
        raise


@dataclass(frozen=True)
class Request:
    """One event as the protocol needs it: where, who, and how much time."""

    region: str
    holder: LockHolder
    budget: Budget
    function_region: str
    signed_at: datetime | None = None
    """When CloudFormation sent the request (its ResponseURL's signing time), when it says."""

    def now(self) -> str:
        return iso8601(datetime.fromtimestamp(self.budget.clock.time(), UTC))

    @property
    def sent_at(self) -> str | None:
        """When CloudFormation sent the request, to the second as the ledger writes times, when it says."""
        return iso8601(self.signed_at) if self.signed_at else None

    def sent_after_request(self, declaration: Declaration) -> bool:
        """Whether this request was sent after the one that wrote `declaration` (to the second)."""
        sent = self.sent_at
        return sent is not None and (declaration.request_sent_at or "") < sent

    def sent_before_request(self, declaration: Declaration) -> bool:
        """Whether this request was sent before the one that wrote `declaration` (to the second)."""
        sent = self.sent_at
        return (
            sent is not None
            and declaration.request_sent_at is not None
            and sent < declaration.request_sent_at
        )

    def sent_before(self, moment: str) -> bool:
        """Whether the request was sent no later than `moment` (a ledger time, to the second)."""
        sent = self.sent_at
        return sent is not None and sent <= moment

    def withdrawal(self, failed_request_id: str) -> Declaration:
        """What the rollback Delete of a failed Create leaves: no declaration, only the mark that stops a
        late or repeated delivery of that Create from making one."""
        return Declaration(
            stack_id=self.holder.stack_id,
            logical_id=self.holder.logical_id,
            certificate="-",
            previous_override=None,
            restore_previous=False,
            state=WriteState.WITHDRAWN,
            request_id=failed_request_id,
            updated_at=self.now(),
        )


def withdraw(
    request: Request,
    *,
    legacy: Declaration | None = None,
    failed_request_id: str | None = None,
    unanswered_create: bool = False,
) -> None:
    """Withdraw this resource's declaration from the region; the last one out removes or restores.
    `legacy`: what a resource created before the ledger declared (from its physical id and properties);
    `failed_request_id`: this is the rollback Delete of that failed Create, which undoes only its own;
    `unanswered_create`: the Delete of a Create whose answer CloudFormation never had (it stopped waiting,
    and sends an id of its own): whatever that Create recorded is undone, and withdrawn under its id."""
    region = request.region
    with holding(region, request.holder, request.budget, function_region=request.function_region) as held:
        view, fence = held.view, held.fence
        own = view.own if view.own is None or not view.own.withdrawn else None
        withdrawn = view.own if view.own is not None and view.own.withdrawn else None
        if withdrawn and not unanswered_create and failed_request_id in (None, withdrawn.request_id):
            logger.info("Nothing to undo: this resource was withdrawn already", extra={"region": region})
            return
        if unanswered_create:
            if own is None:
                logger.info(
                    "Nothing to undo: the unanswered Create recorded nothing", extra={"region": region}
                )
                return
            failed_request_id = own.request_id
        if view.own_unreadable is not None:
            logger.warning(
                "Delete: this resource's own ledger entry cannot be read, so what it declared is unknown: "
                "the override is left as it is and the entry removed",
                extra={
                    "region": region,
                    "entry": view.own_unreadable.name,
                    "error": view.own_unreadable.error,
                },
            )
            attempts = fence.check("remove this resource's unreadable entry")
            ledger.forget(region, view.own_unreadable.name, attempts=attempts)
            return
        if failed_request_id is not None and (own is None or own.request_id != failed_request_id):
            if own is not None:
                logger.info(
                    "Nothing to undo: the recorded declaration is not the failed Create's",
                    extra={"region": region, "recorded_request": own.request_id},
                )
                return
            logger.info("Nothing to undo: the failed Create recorded nothing", extra={"region": region})
            attempts = fence.check("record the failed Create's withdrawal")
            ledger.record(region, request.withdrawal(failed_request_id), attempts=attempts)
            return
        declared = own or legacy
        if declared is None:
            logger.info(
                "Nothing to undo: no declaration of this resource is recorded", extra={"region": region}
            )
            return
        co_declarer = _Liveness(region, fence).first_live(view.others)
        standing = None
        valid: set[str] = set()
        if co_declarer is None and not view.others_unreadable:
            certificates = rds.describe_certificates(region)
            standing = current_override(certificates)
            now = datetime.now(UTC)
            valid = {c.identifier for c in certificates if not c.expired(now)}
        keepers = (
            [co_declarer.holder]
            if co_declarer
            else [f"the unreadable entry {u.name}" for u in view.others_unreadable]
        )
        plan = plan_delete(
            declared=declared.certificate,
            previous=declared.previous_override,
            restore_previous=declared.restore_previous,
            standing_override=standing,
            valid_certificates=valid,
            co_declarers=keepers[:1],
            write_confirmed=declared.state is WriteState.APPLIED,
        )
        log = logger.warning if plan.warning or (keepers and co_declarer is None) else logger.info
        log(f"Delete: {plan.reason}", extra={"action": plan.action.value, "region": region})
        _undo(region, plan, fence)
        done = "Nothing was changed." if plan.action is DeleteAction.LEAVE else f"RDS: {plan.reason}."
        # Not deleted but withdrawn: a late or repeated delivery of a request sent before this Delete (the
        # Create's, an Update's) finds the withdrawal and changes nothing. It goes when it is old enough.
        attempts = fence.check("withdraw this resource's declaration", done=done)
        withdrawal = request.withdrawal(failed_request_id or request.holder.request_id)
        with _remains(f"{done} This resource's declaration remains recorded: retry the deletion."):
            ledger.record(region, withdrawal, attempts=attempts)


def _undo(region: str, plan: DeletePlan, fence: Fence) -> None:
    """The RDS write of a Delete's plan, if any."""
    unchanged = "This resource's declaration remains; the RDS default CA may or may not have changed."
    if plan.action is DeleteAction.REMOVE:
        attempts = fence.check("remove the RDS default CA override")
        with _remains(unchanged):
            rds.remove_override(region, attempts=attempts)
    elif plan.action is DeleteAction.RESTORE and plan.restore_to:
        attempts = fence.check(f"restore the RDS default CA {plan.restore_to}")
        with _remains(unchanged):
            rds.set_override(region, plan.restore_to, attempts=attempts)


def withdraw_unchanged(request: Request, failed_request_id: str) -> None:
    """The rollback Delete of a Create that changed nothing: one create-only write, no lock, marks the
    request withdrawn so that a late delivery of it changes nothing. Any refusal is logged, never failed."""
    region = request.region
    try:
        ledger.record(region, request.withdrawal(failed_request_id), first=True)
    except ClientError as error:
        if ledger.error_code(error) == "ParameterAlreadyExists":
            entry = _own_entry(region, request.holder)
            if entry is not None and entry.withdrawn and entry.request_id == failed_request_id:
                logger.info("Delete: the failed Create was withdrawn already", extra={"region": region})
                return
            # An entry appeared: perhaps a later delivery of the same Create declared. Undo as for any Create.
            withdraw(request, failed_request_id=failed_request_id)
            return
        logger.warning(
            "Delete: the failed Create changed nothing, and its withdrawal could not be recorded",
            extra={"region": region, "error": ledger.error_code(error)},
        )
    except BotoCoreError as error:  # the SDK gave up (timeouts, connections): the same, logged
        logger.warning(
            "Delete: the failed Create changed nothing, and its withdrawal could not be recorded",
            extra={"region": region, "error": type(error).__name__},
        )
    else:
        logger.info("Delete: the failed Create changed nothing", extra={"region": region})


def event_holder(event: Mapping[str, Any], invocation_id: str) -> LockHolder:
    return LockHolder(
        str(event.get("StackId", "")),
        str(event.get("LogicalResourceId", "")),
        str(event.get("RequestId", "")),
        invocation_id,
    )
