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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from botocore.exceptions import ClientError

import aws_sdk
import ledger
import rds_certificates as rds
from cfn_resource import SERVICE, TIMEOUT_MARGIN_SECONDS, SafeCfnResource, install_log_redaction
from declarations import (
    ConflictError,
    Declaration,
    WriteState,
    conflict_message,
    conflicting,
    previous_override,
    split_own,
)
from override import (
    CERTIFICATE_IDENTIFIER,
    REGION,
    RESTORE_PREVIOUS_ON_DELETE,
    DeleteAction,
    OverrideProperties,
    PhysicalId,
    PropertyError,
    attributes,
    choose_certificate,
    current_override,
    failed_create_request_id,
    iso8601,
    parse_boolean,
    parse_properties,
    plan_delete,
    stack_digest,
)
from version import __version__

# Waiting for the region's lock stops in time for one RDS write (with its retries) and the few reads before
# it: a write is only started when it can finish before the timer answers (see _declare).
_READS_BEFORE_THE_WRITE_SECONDS = 5.0
_LAMBDA_LONGEST_TIMEOUT_SECONDS = 900.0
# A lock outlives its holder's deadline by this much, so it is taken over only from a stopped invocation.
_LEASE_MARGIN_SECONDS = TIMEOUT_MARGIN_SECONDS + 10
# Error codes of a region that does not accept the account's credentials: an opt-in region not enabled.
_REGION_NOT_ENABLED_CODES = {"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure"}


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


def _resource_properties(event: Mapping[str, Any], key: str = "ResourceProperties") -> Mapping[str, Any]:
    properties = event.get(key)
    return properties if isinstance(properties, Mapping) else {}


def _properties(event: Mapping[str, Any], key: str = "ResourceProperties") -> OverrideProperties:
    return parse_properties(
        _resource_properties(event, key),
        default_region=FUNCTION_REGION,
        known_regions=aws_sdk.known_regions(FUNCTION_REGION),
    )


def _now() -> str:
    return iso8601(datetime.now(UTC))


@contextmanager
def _region(region: str, event: Mapping[str, Any]) -> Iterator[None]:
    """Hold the region's lock, and turn a region that refuses the credentials into a clear error."""
    holder = {key: str(event.get(key, "")) for key in ("RequestId", "StackId", "LogicalResourceId")}
    # Bounded by Lambda's longest timeout, in case an invocation came without a deadline.
    time_left = min(helper.seconds_until_timeout_answer(), _LAMBDA_LONGEST_TIMEOUT_SECONDS)
    try:
        with ledger.region_lock(
            region,
            holder,
            wait_seconds=max(
                time_left - aws_sdk.WORST_CASE_CALL_SECONDS - _READS_BEFORE_THE_WRITE_SECONDS, 0.0
            ),
            lease_seconds=time_left + _LEASE_MARGIN_SECONDS,
        ):
            yield
    except ClientError as error:
        if error.response["Error"]["Code"] in _REGION_NOT_ENABLED_CODES and region != FUNCTION_REGION:
            raise RuntimeError(
                f"{REGION} {region} refuses this account's credentials ({error.response['Error']['Code']}): "
                "it is probably an opt-in region that the account has not enabled. Enable it (AWS Account "
                "Management, Regions) or stop declaring it. Nothing was changed."
            ) from error
        raise


def _ensure_time_for_a_write(region: str) -> None:
    """An RDS write is only started when it can finish, retries included, before the timer answers FAILED:
    a write that lands after a FAILED answer is one CloudFormation does not know about."""
    if helper.seconds_until_timeout_answer() < aws_sdk.WORST_CASE_CALL_SECONDS:
        raise TimeoutError(
            f"Too little time left to change the RDS default CA of {region} safely. Nothing was changed."
        )


def _live(region: str, declarations: list[Declaration]) -> list[Declaration]:
    """Those of `declarations` whose stack still exists. The others are stale: removed, with a warning."""
    live = []
    for declaration in declarations:
        if ledger.stack_gone(declaration.stack_id):
            logger.warning(
                "Removing a stale declaration: its stack is gone",
                extra={"region": region, "declaration": declaration.name, "holder": declaration.holder},
            )
            ledger.forget(region, declaration)
        else:
            live.append(declaration)
    return live


def _declare(properties: OverrideProperties, event: Mapping[str, Any], existing: PhysicalId | None) -> str:
    """Make `properties` stand and record this resource's declaration, under the region's lock."""
    region = properties.region
    with _region(region, event):
        own, others = split_own(ledger.declarations(region), event["StackId"], event["LogicalResourceId"])
        certificates = rds.describe_certificates(region)
        standing = current_override(certificates)
        logger.debug(
            "The region's certificates and declarations",
            extra={
                "region": region,
                "certificates": [c.identifier for c in certificates],
                "override": standing,
                "declarations": [d.name for d in others] + ([own.name] if own else []),
            },
        )
        chosen = choose_certificate(certificates, properties.certificate_identifier, datetime.now(UTC))
        for holder in _live(region, conflicting(others, chosen.identifier)):
            raise ConflictError(conflict_message(region, chosen.identifier, holder))
        previous = previous_override(
            own=own,
            legacy_previous=existing.previous_override if existing else None,
            others=others,
            standing=standing,
        )
        write = standing != chosen.identifier
        declaration = Declaration(
            stack_id=event["StackId"],
            logical_id=event["LogicalResourceId"],
            certificate=chosen.identifier,
            previous_override=previous,
            restore_previous=properties.restore_previous_on_delete,
            state=WriteState.PENDING if write else WriteState.APPLIED,
            request_id=str(event.get("RequestId", "")),
            updated_at=_now(),
        )
        if write:
            _ensure_time_for_a_write(region)
        if own is None or not own.same_declaration(declaration):
            ledger.record(region, declaration)  # intent before effect
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


def _release(
    region: str,
    event: Mapping[str, Any],
    *,
    legacy: PhysicalId | None = None,
    failed_request_id: str | None = None,
) -> None:
    """Withdraw this resource's declaration from the region; the last one out removes or restores."""
    with _region(region, event):
        own, others = split_own(ledger.declarations(region), event["StackId"], event["LogicalResourceId"])
        if own is None and legacy is None:
            logger.info(
                "Nothing to undo: no declaration of this resource is recorded", extra={"region": region}
            )
            return
        if own is not None and failed_request_id and own.request_id != failed_request_id:
            logger.info(
                "Nothing to undo: the recorded declaration is not the failed Create's",
                extra={"region": region, "recorded_request": own.request_id},
            )
            return
        declared = own or _legacy_declaration(event, legacy)
        co_declarers = []
        for other in others:  # the first live one is enough: then the override stays
            if _live(region, [other]):
                co_declarers.append(other.holder)
                break
        standing = None
        valid: set[str] = set()
        if not co_declarers:
            certificates = rds.describe_certificates(region)
            standing = current_override(certificates)
            now = datetime.now(UTC)
            valid = {c.identifier for c in certificates if not c.expired(now)}
        plan = plan_delete(
            declared=declared.certificate,
            previous=declared.previous_override,
            restore_previous=declared.restore_previous,
            standing_override=standing,
            valid_certificates=valid,
            co_declarers=co_declarers,
            write_confirmed=declared.state is WriteState.APPLIED,
        )
        log = logger.warning if plan.warning else logger.info
        log(f"Delete: {plan.reason}", extra={"action": plan.action.value, "region": region})
        if plan.action is not DeleteAction.LEAVE:
            _ensure_time_for_a_write(region)
        if plan.action is DeleteAction.REMOVE:
            rds.remove_override(region)
        elif plan.action is DeleteAction.RESTORE and plan.restore_to:
            rds.set_override(region, plan.restore_to)
        if own is not None:
            ledger.forget(region, own)


def _legacy_declaration(event: Mapping[str, Any], physical_id: PhysicalId | None) -> Declaration:
    """A resource created before the ledger: its physical id and properties say what it declared."""
    declared = _resource_properties(event)
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
    return _declare(_properties(event), event, existing=None)


@helper.update
def update(event: dict[str, Any], _context: Any) -> str:
    properties = _properties(event)
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
    id, so CloudFormation sends no Delete for the region it tried: its declaration is withdrawn here."""
    try:
        old_region = _properties(event, "OldResourceProperties").region
    except PropertyError:
        return
    if old_region != properties.region:
        logger.info(
            "Withdrawing the declaration of a Region change that did not complete",
            extra={"region": old_region},
        )
        _release(old_region, event)


@helper.delete
def delete(event: dict[str, Any], _context: Any) -> str:
    raw_id = str(event.get("PhysicalResourceId") or "")
    physical_id = PhysicalId.parse(raw_id)
    failed_request_id = failed_create_request_id(raw_id)
    if physical_id is not None:
        _release(physical_id.region, event, legacy=physical_id)
    elif failed_request_id is not None:
        # The failed Create may have recorded its declaration, and its write may have landed after the
        # timer answered: find it by StackId and LogicalResourceId in the region it named.
        try:
            region = _properties(event).region
        except PropertyError:
            logger.info("Nothing to undo: the failed Create's properties name no valid region")
            return raw_id
        _release(region, event, failed_request_id=failed_request_id)
    else:
        logger.info("Nothing to delete: the physical id was not issued by this resource")
    return raw_id


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
    helper(event, context)
