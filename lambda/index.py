"""Lambda entry point of the Custom::RdsCertificateOverride CloudFormation resource.

crhelper dispatches Create/Update/Delete to the functions below and answers CloudFormation with what they
return (the physical id) and `helper.Data` (the attributes). This module speaks CloudFormation: it checks
the event, turns physical ids into what the region protocol needs and back. The protocol itself (lock,
read, decide, fence, write, release) is `protocol`; decisions live in `override` and `declarations`.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

import aws_sdk
import ledger
import protocol
from cfn_resource import SERVICE, SafeCfnResource, install_log_redaction
from override import (
    CERTIFICATE_IDENTIFIER,
    RESTORE_PREVIOUS_ON_DELETE,
    FailedCreateId,
    OverrideProperties,
    PhysicalId,
    PropertyError,
    answer_deadline,
    attributes,
    iso8601,
    parse_boolean,
    parse_properties,
    signed_at,
    stack_digest,
)
from rds_override_ledger.declarations import Declaration, WriteState
from version import __version__

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


def _request(region: str, event: Mapping[str, Any], context: Any) -> protocol.Request:
    """The event as the protocol sees it: its region, who holds the lock for it (this invocation), and its
    time: until crhelper's timer answers, and until CloudFormation stops waiting (read from the event)."""
    deadline = answer_deadline(
        str(event.get("ResponseURL", "")), _raw_properties(event).get("ServiceTimeout")
    )
    return protocol.Request(
        region=region,
        holder=protocol.event_holder(event, str(getattr(context, "aws_request_id", "") or uuid.uuid4())),
        budget=protocol.Budget(
            clock=clock,
            seconds_until_timer=helper.seconds_until_timeout_answer,
            cloudformation_deadline=deadline.timestamp() if deadline else None,
        ),
        function_region=FUNCTION_REGION,
        signed_at=signed_at(str(event.get("ResponseURL", ""))),
    )


def _declare(
    properties: OverrideProperties,
    event: Mapping[str, Any],
    context: Any,
    existing: PhysicalId | None,
    progress: protocol.Progress | None = None,
) -> str:
    """Make `properties` stand, fill the attributes, and return the physical id."""
    declared = protocol.declare(
        _request(properties.region, event, context),
        certificate_identifier=properties.certificate_identifier,
        restore_previous=properties.restore_previous_on_delete,
        legacy_previous=existing.previous_override if existing else None,
        progress=progress,
    )
    helper.Data.update(
        attributes(
            declared.certificate, region=properties.region, previous_override=declared.previous_override
        )
    )
    physical_id = existing or PhysicalId(
        properties.region,
        declared.previous_override,
        stack_digest(event["StackId"], event["LogicalResourceId"]),
    )
    return str(physical_id)


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


def _answered_by_the_holder(
    function: Callable[[dict[str, Any], Any], str],
) -> Callable[[dict[str, Any], Any], str]:
    """Another delivery of the same request that holds, or held, the region's lock decided and answers: this
    one sends no answer (a FAILED "nothing changed" could overtake its SUCCESS, or contradict it)."""

    @functools.wraps(function)
    def leaving_the_answer(event: dict[str, Any], context: Any) -> str:
        try:
            return function(event, context)
        except ledger.AnotherDeliveryHolds as holds:
            helper.leave_the_answer(str(holds))
            raise

    return leaving_the_answer


@helper.create
@_answered_by_the_holder
def create(event: dict[str, Any], context: Any) -> str:
    progress = protocol.Progress()
    try:
        properties = _parsed_properties(event)
    except PropertyError:
        helper.PhysicalResourceId = str(FailedCreateId(str(event.get("RequestId", "")), False))
        raise
    try:
        return _declare(properties, event, context, existing=None, progress=progress)
    except Exception:
        # The id this failure answers with tells the rollback Delete whether there is anything to undo.
        helper.PhysicalResourceId = str(
            FailedCreateId(str(event.get("RequestId", "")), progress.may_have_changed)
        )
        raise


@helper.update
@_answered_by_the_holder
def update(event: dict[str, Any], context: Any) -> str:
    properties = _parsed_properties(event)
    existing = PhysicalId.parse(event.get("PhysicalResourceId"))
    if existing is None or existing.region != properties.region:
        # A new physical id makes CloudFormation Delete the old one, which cleans up the old region.
        logger.info("Replacing the resource", extra={"region": properties.region})
        existing = None
    else:
        _release_an_abandoned_region(event, context, properties)
    return _declare(properties, event, context, existing)


def _release_an_abandoned_region(
    event: Mapping[str, Any], context: Any, properties: OverrideProperties
) -> None:
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
            protocol.withdraw(_request(old_region, event, context))
        except protocol.RegionRefused as refused:
            logger.warning(f"Nothing to withdraw: {refused}", extra={"region": old_region})


@helper.delete
@_answered_by_the_holder
def delete(event: dict[str, Any], context: Any) -> str:
    raw_id = str(event.get("PhysicalResourceId") or "")
    physical_id = PhysicalId.parse(raw_id)
    failed_create = FailedCreateId.parse(raw_id)
    if physical_id is not None:
        protocol.withdraw(
            _request(physical_id.region, event, context), legacy=_legacy_declaration(event, physical_id)
        )
    elif failed_create is not None:
        try:
            region = _parsed_properties(event).region
        except PropertyError:
            logger.info("Nothing to undo: the failed Create's properties name no valid region")
            return raw_id
        request = _request(region, event, context)
        if failed_create.may_have_changed:
            # It may have recorded its declaration and written RDS: find it by StackId and LogicalResourceId
            # in the region it named, under the lock (which waits until that Create cannot write any more).
            protocol.withdraw(request, failed_request_id=failed_create.request_id)
        else:
            protocol.withdraw_unchanged(request, failed_create.request_id)
    else:
        # No id of ours: CloudFormation stopped waiting for the Create's answer and made one up. The Create
        # may still have declared and written (its answer was lost, or came too late): undo that.
        try:
            region = _parsed_properties(event).region
        except PropertyError:
            logger.info("Nothing to undo: the unanswered Create's properties name no valid region")
            return raw_id
        protocol.withdraw(_request(region, event, context), unanswered_create=True)
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
