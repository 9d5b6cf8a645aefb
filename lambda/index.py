"""Lambda entry point of the Custom::RdsCertificateOverride CloudFormation resource.

crhelper dispatches Create/Update/Delete to the functions below and answers CloudFormation with what they
return (the physical id) and `helper.Data` (the attributes). Decisions live in `override` and
`declarations`, RDS calls in `rds_certificates`, the ledger's SSM and CloudFormation calls in `ledger`.

Every event for a region runs under the region's lock: it reads the ledger of declarations, decides, records
its own declaration *before* it writes to RDS, then writes. So a Delete always knows what a Create did, even
when the Create's write outlived the timer, and concurrent events from different stacks cannot interleave.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from botocore.exceptions import ClientError

import aws_sdk
import ledger
import rds_certificates as rds
from cfn_resource import SERVICE, TIMEOUT_MARGIN_SECONDS, SafeCfnResource, install_log_redaction
from override import (
    CERTIFICATE_IDENTIFIER,
    REGION,
    RESTORE_PREVIOUS_ON_DELETE,
    DeleteAction,
    FailedCreateId,
    OverrideProperties,
    PhysicalId,
    PropertyError,
    answer_deadline,
    attributes,
    choose_certificate,
    current_override,
    iso8601,
    parse_boolean,
    parse_properties,
    plan_delete,
    stack_digest,
)
from rds_override_ledger import aws_answers
from rds_override_ledger.declarations import (
    ConflictError,
    Declaration,
    LockHolder,
    OwnView,
    UnreadableLedgerError,
    WriteState,
    conflict_message,
    conflicting,
    previous_override,
    split_own,
)
from version import __version__

# Waiting for the region's lock stops in time for one RDS write (with its retries) and the few reads before
# it: a write is only started when it can finish before the timer answers (see _ensure_time_for_a_write).
READS_BEFORE_THE_WRITE_SECONDS = 5.0
LAMBDA_LONGEST_TIMEOUT_SECONDS = 900.0
# A lock's lease ends this long after its holder's timer answers, that is 10 s after Lambda stops the
# holder: it is taken over only from an invocation that cannot still be running.
LEASE_MARGIN_SECONDS = TIMEOUT_MARGIN_SECONDS + 10
_TIME_KEPT_FOR_THE_WORK_SECONDS = aws_sdk.WORST_CASE_CALL_SECONDS + READS_BEFORE_THE_WRITE_SECONDS
REQUEST_TYPES = ("Create", "Update", "Delete")
# Wall-clock time and sleeps of the region lock; tests put a controllable clock here.
clock: ledger.Clock = ledger.SystemClock()


def _log_answer(body: dict[str, Any]) -> None:
    logger.info(
        "Answering CloudFormation",
        extra={key: body[key] for key in ("Status", "PhysicalResourceId", "Reason", "Data")},
    )


# Nothing below may raise at import: a failed init would leave CloudFormation waiting for an answer until
# the ServiceTimeout. Configuration errors go through helper.init_failure and every request answers FAILED.
install_log_redaction()
helper = SafeCfnResource(on_answer=_log_answer)
try:
    logger = Logger(service=SERVICE)
except ValueError as error:  # e.g. POWERTOOLS_LOG_LEVEL=VERBOSE
    logger = Logger(service=SERVICE, level="INFO")
    helper.init_failure(
        RuntimeError(
            f"Bad log level setting ({error}): valid levels are DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    )
# crhelper's own loggers write JSON like ours, and never below WARNING: at DEBUG they print the whole event.
copy_config_to_registered_loggers(source_logger=logger, log_level="WARNING", include={"crhelper"})

FUNCTION_REGION = os.environ.get("AWS_REGION", "")
if not FUNCTION_REGION:
    helper.init_failure(RuntimeError("AWS_REGION is not set: the function cannot tell its default region"))


def _raw_properties(event: Mapping[str, Any], key: str = "ResourceProperties") -> Mapping[str, Any]:
    """The event's properties as sent (strings), or {} when there are none."""
    properties = event.get(key)
    return properties if isinstance(properties, Mapping) else {}


def _parsed_properties(event: Mapping[str, Any], key: str = "ResourceProperties") -> OverrideProperties:
    """The event's properties, checked: raises PropertyError naming the property and the valid choices."""
    return parse_properties(
        _raw_properties(event, key),
        default_region=FUNCTION_REGION,
        known_regions=aws_sdk.known_regions(FUNCTION_REGION),
    )


def _now() -> str:
    return iso8601(datetime.fromtimestamp(clock.time(), UTC))


class RegionRefused(RuntimeError):
    """The target region refuses this function's calls: nothing this function does can reach it."""


@dataclass
class _Progress:
    """What a Create has done so far, for the id its failure answers with."""

    may_have_changed: bool = True
    """Unknown until the ledger is read: an earlier delivery of the same request may have acted."""


@contextmanager
def _region_lock(
    region: str, event: Mapping[str, Any], progress: _Progress | None = None
) -> Iterator[OwnView]:
    """Hold the region's lock and yield the ledger as this resource sees it; a region that refuses the
    function's credentials or calls becomes a clear RegionRefused."""
    holder = LockHolder(
        str(event.get("StackId", "")),
        str(event.get("LogicalResourceId", "")),
        str(event.get("RequestId", "")),
    )
    # Bounded by Lambda's longest timeout, in case an invocation came without a deadline.
    time_left = min(helper.seconds_until_timeout_answer(), LAMBDA_LONGEST_TIMEOUT_SECONDS)
    now = clock.time()
    lock = ledger.RegionLock(
        region,
        holder,
        deadline=now + time_left,
        give_up_at=now + max(time_left - _TIME_KEPT_FOR_THE_WORK_SECONDS, 0.0),
        lease_margin=LEASE_MARGIN_SECONDS,
        clock=clock,
    )
    with _refusals_named(region, progress):
        snapshot = lock.acquire()
    try:
        view = split_own(snapshot, holder.stack_id, holder.logical_id)
        if progress is not None:
            progress.may_have_changed = view.own is not None and view.own.request_id == holder.request_id
        with _refusals_named(region, None):
            yield view
    finally:
        lock.release()


@contextmanager
def _refusals_named(region: str, progress: _Progress | None) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = ledger.error_code(error)
        if code in aws_answers.REGION_NOT_ENABLED_CODES and region != FUNCTION_REGION:
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
        if progress is not None and code != "ParameterLimitExceeded":
            progress.may_have_changed = False  # the region refused the first call: nothing reached it
        raise RegionRefused(reason) from error


def _ensure_time_for_a_write(region: str) -> None:
    """An RDS write is only started when it can finish, retries included, before the timer answers FAILED:
    a write that lands after a FAILED answer is one CloudFormation does not know about."""
    if helper.seconds_until_timeout_answer() < aws_sdk.WORST_CASE_CALL_SECONDS:
        raise TimeoutError(
            f"Too little time left to change the RDS default CA of {region} safely. Nothing was changed."
        )


class _Liveness:
    """Which declaring stacks still exist, asked once each per event (DescribeStacks in the stack's own
    region), and only as far as a decision needs. Declarations found stale are removed from the ledger."""

    def __init__(self, region: str) -> None:
        self._region = region
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
        ledger.forget(self._region, declaration.name)


class ObsoleteEvent(RuntimeError):
    """An event CloudFormation no longer waits for: acting on it would declare what nobody owns."""


def _declare(
    properties: OverrideProperties,
    event: Mapping[str, Any],
    existing: PhysicalId | None,
    progress: _Progress | None = None,
) -> str:
    """Make `properties` stand and record this resource's declaration, under the region's lock."""
    region = properties.region
    request_id = str(event.get("RequestId", ""))
    with _region_lock(region, event, progress) as view:
        own = view.own
        if own is not None and own.withdrawn:
            if own.request_id == request_id:
                raise ObsoleteEvent(
                    f"This Create was already rolled back (its Delete ran at {own.updated_at}): it is a late "
                    "or repeated delivery, and changes nothing."
                )
            own = None  # the withdrawal of an earlier resource of the same name: no declaration
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
        chosen = choose_certificate(certificates, properties.certificate_identifier, datetime.now(UTC))
        liveness = _Liveness(region)
        if holder := liveness.first_live(conflicting(view.others, chosen.identifier)):
            raise ConflictError(conflict_message(region, chosen.identifier, holder))
        write = standing != chosen.identifier
        if write and view.others_unreadable:
            raise UnreadableLedgerError(view.others_unreadable[0].repair_hint())
        legacy_previous = existing.previous_override if existing else None
        needs_other = (own is None) and legacy_previous is None and bool(view.others)
        previous = previous_override(
            own=own,
            legacy_previous=legacy_previous,
            live_other=liveness.first_live(view.others) if needs_other else None,
            standing=standing,
        )
        declaration = Declaration(
            stack_id=event["StackId"],
            logical_id=event["LogicalResourceId"],
            certificate=chosen.identifier,
            previous_override=previous,
            restore_previous=properties.restore_previous_on_delete,
            state=WriteState.PENDING if write else WriteState.APPLIED,
            request_id=request_id,
            updated_at=_now(),
        )
        declaration.to_json()  # refuses a value too large for SSM before anything is written
        if write:
            _ensure_time_for_a_write(region)
        if own is None or not own.same_declaration(declaration):
            if progress is not None:
                progress.may_have_changed = True
            _record_intent(region, declaration, first=view.own is None and view.own_unreadable is None)
        if write:
            chosen = rds.set_override(region, chosen.identifier)
            ledger.record(region, replace(declaration, state=WriteState.APPLIED))
            logger.info(
                "Override set",
                extra={"certificate": chosen.identifier, "region": region, "replaced": standing},
            )
        else:
            logger.info(
                "The override already stands", extra={"certificate": chosen.identifier, "region": region}
            )
    helper.Data.update(attributes(chosen, region=region, previous_override=previous))
    physical_id = existing or PhysicalId(
        region, previous, stack_digest(event["StackId"], event["LogicalResourceId"])
    )
    return str(physical_id)


def _record_intent(region: str, declaration: Declaration, *, first: bool) -> None:
    """Intent before effect. A resource's first entry is written create-only: if a rollback Delete recorded
    its withdrawal since the ledger was read, this Create is obsolete and must change nothing."""
    try:
        ledger.record(region, declaration, first=first)
    except ClientError as error:
        if first and ledger.error_code(error) == "ParameterAlreadyExists":
            raise ObsoleteEvent(
                "This resource was deleted while this Create waited: it changes nothing."
            ) from error
        raise


def _withdrawal(event: Mapping[str, Any], failed_request_id: str) -> Declaration:
    """What the rollback Delete of a failed Create leaves: no declaration, only the mark that stops a late
    or repeated delivery of that Create from making one."""
    return Declaration(
        stack_id=str(event.get("StackId", "")),
        logical_id=str(event.get("LogicalResourceId", "")),
        certificate="-",
        previous_override=None,
        restore_previous=False,
        state=WriteState.WITHDRAWN,
        request_id=failed_request_id,
        updated_at=_now(),
    )


def _release(
    region: str,
    event: Mapping[str, Any],
    *,
    legacy: PhysicalId | None = None,
    failed_request_id: str | None = None,
) -> None:
    """Withdraw this resource's declaration from the region; the last one out removes or restores."""
    with _region_lock(region, event) as view:
        own = view.own if view.own is None or not view.own.withdrawn else None
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
            ledger.forget(region, view.own_unreadable.name)
            return
        if failed_request_id is not None and (own is None or own.request_id != failed_request_id):
            if own is not None:
                logger.info(
                    "Nothing to undo: the recorded declaration is not the failed Create's",
                    extra={"region": region, "recorded_request": own.request_id},
                )
                return
            logger.info("Nothing to undo: the failed Create recorded nothing", extra={"region": region})
            ledger.record(region, _withdrawal(event, failed_request_id))
            return
        if own is None and legacy is None:
            logger.info(
                "Nothing to undo: no declaration of this resource is recorded", extra={"region": region}
            )
            return
        declared = own or _legacy_declaration(event, legacy)
        co_declarer = _Liveness(region).first_live(view.others)
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
        if plan.action is not DeleteAction.LEAVE:
            _ensure_time_for_a_write(region)
        if plan.action is DeleteAction.REMOVE:
            rds.remove_override(region)
        elif plan.action is DeleteAction.RESTORE and plan.restore_to:
            rds.set_override(region, plan.restore_to)
        if failed_request_id is not None:
            ledger.record(region, _withdrawal(event, failed_request_id))
        elif own is not None:
            ledger.forget(region, own.name)


def _withdraw_unchanged(region: str, event: Mapping[str, Any], failed_request_id: str) -> None:
    """The rollback Delete of a Create that changed nothing: one create-only write, no lock, marks the
    request withdrawn so that a late delivery of it changes nothing. Any refusal is logged, never failed."""
    try:
        ledger.record(region, _withdrawal(event, failed_request_id), first=True)
    except ClientError as error:
        if ledger.error_code(error) == "ParameterAlreadyExists":
            # An entry appeared: perhaps a later delivery of the same Create declared. Undo as for any Create.
            _release(region, event, failed_request_id=failed_request_id)
            return
        logger.warning(
            "Delete: the failed Create changed nothing, and its withdrawal could not be recorded",
            extra={"region": region, "error": ledger.error_code(error)},
        )
    else:
        logger.info("Delete: the failed Create changed nothing", extra={"region": region})


def _legacy_declaration(event: Mapping[str, Any], physical_id: PhysicalId | None) -> Declaration:
    """A resource created before the ledger: its physical id and properties say what it declared."""
    declared = _raw_properties(event)
    try:
        restore = parse_boolean(
            RESTORE_PREVIOUS_ON_DELETE, declared.get(RESTORE_PREVIOUS_ON_DELETE), default=False
        )
    except PropertyError:
        logger.warning("Ignoring a malformed RestorePreviousOnDelete on Delete", exc_info=True)
        restore = False
    return Declaration(
        stack_id=str(event.get("StackId", "")),
        logical_id=str(event.get("LogicalResourceId", "")),
        certificate=str(declared.get(CERTIFICATE_IDENTIFIER, "")),
        previous_override=physical_id.previous_override if physical_id else None,
        restore_previous=restore,
        state=WriteState.APPLIED,
        request_id="",
        updated_at="",
    )


@helper.create
def create(event: dict[str, Any], _context: Any) -> str:
    progress = _Progress()
    try:
        properties = _parsed_properties(event)
    except PropertyError:
        progress.may_have_changed = False
        helper.PhysicalResourceId = str(FailedCreateId(str(event.get("RequestId", "")), False))
        raise
    try:
        return _declare(properties, event, existing=None, progress=progress)
    except Exception:
        # The id this failure answers with tells the rollback Delete whether there is anything to undo.
        helper.PhysicalResourceId = str(
            FailedCreateId(str(event.get("RequestId", "")), progress.may_have_changed)
        )
        raise


@helper.update
def update(event: dict[str, Any], _context: Any) -> str:
    properties = _parsed_properties(event)
    existing = PhysicalId.parse(event.get("PhysicalResourceId"))
    if existing is None or existing.region != properties.region:
        # A new physical id makes CloudFormation Delete the old one, which cleans up the old region.
        logger.info("Replacing the resource", extra={"region": properties.region})
        existing = None
    else:
        _release_an_abandoned_region(event, properties)
    return _declare(properties, event, existing)


def _release_an_abandoned_region(event: Mapping[str, Any], properties: OverrideProperties) -> None:
    """The rollback of a Region change that never answered SUCCESS (it timed out) keeps the old physical
    id, so CloudFormation sends no Delete for the region it tried: its declaration is withdrawn here.
    A region that refuses the function cannot hold anything of it: the rollback goes on."""
    try:
        old_region = _parsed_properties(event, "OldResourceProperties").region
    except PropertyError:
        return
    if old_region != properties.region:
        logger.info(
            "Withdrawing the declaration of a Region change that did not complete",
            extra={"region": old_region},
        )
        try:
            _release(old_region, event)
        except RegionRefused as refused:
            logger.warning(f"Nothing to withdraw: {refused}", extra={"region": old_region})


@helper.delete
def delete(event: dict[str, Any], _context: Any) -> str:
    raw_id = str(event.get("PhysicalResourceId") or "")
    physical_id = PhysicalId.parse(raw_id)
    failed_create = FailedCreateId.parse(raw_id)
    if physical_id is not None:
        _release(physical_id.region, event, legacy=physical_id)
    elif failed_create is not None:
        try:
            region = _parsed_properties(event).region
        except PropertyError:
            logger.info("Nothing to undo: the failed Create's properties name no valid region")
            return raw_id
        if failed_create.may_have_changed:
            # It may have recorded its declaration, and its write may have landed after the timer answered:
            # find it by StackId and LogicalResourceId in the region it named.
            _release(region, event, failed_request_id=failed_create.request_id)
        else:
            _withdraw_unchanged(region, event, failed_create.request_id)
    else:
        logger.info("Nothing to delete: the physical id was not issued by this resource")
    return raw_id


def _refusal(event: Mapping[str, Any]) -> str | None:
    """Why this event must not run at all, or None. Both cases change nothing."""
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        return f"RequestType {request_type!r} is not one of {', '.join(REQUEST_TYPES)}. Nothing was changed."
    deadline = answer_deadline(
        str(event.get("ResponseURL", "")), _raw_properties(event).get("ServiceTimeout")
    )
    if deadline is not None and clock.time() >= deadline.timestamp():
        return (
            f"This {request_type} request arrived after CloudFormation stopped waiting for it (at "
            f"{iso8601(deadline)}): it was delayed or delivered again by Lambda. Nothing was changed."
        )
    return None


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> None:
    # The ResponseURL is a presigned credential: everything else of the request is logged, never it.
    logger.append_keys(
        request_type=event.get("RequestType"),
        logical_resource_id=event.get("LogicalResourceId"),
        stack_id=event.get("StackId"),
    )
    logger.info(
        "CloudFormation request",
        extra={
            "version": __version__,
            "request": {key: value for key, value in event.items() if key != "ResponseURL"},
        },
    )
    if (reason := _refusal(event)) is not None:
        logger.warning(reason)
        physical_id = event.get("PhysicalResourceId") or FailedCreateId(
            str(event.get("RequestId", "")), False
        )
        helper.refuse(event, context, reason=reason, physical_id=str(physical_id))
        return
    helper(event, context)
