"""Lambda entry point of the Custom::RdsCertificateOverride CloudFormation resource.

crhelper dispatches Create/Update/Delete to the functions below and answers CloudFormation with what they
return (the physical id) and `helper.Data` (the attributes). Decisions live in `override`, RDS calls in
`rds_certificates`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

import rds_certificates as rds
from cfn_resource import SERVICE, SafeCfnResource
from override import (
    CERTIFICATE_IDENTIFIER,
    RESTORE_PREVIOUS_ON_DELETE,
    DeleteAction,
    OverrideProperties,
    PhysicalId,
    PropertyError,
    attributes,
    choose_certificate,
    current_override,
    parse_boolean,
    parse_properties,
    plan_delete,
    stack_digest,
)


def _log_answer(body: dict[str, Any]) -> None:
    logger.info(
        "Answering CloudFormation",
        extra={key: body[key] for key in ("Status", "PhysicalResourceId", "Reason", "Data")},
    )


# Nothing below may raise at import: a failed init would leave CloudFormation waiting for an answer until
# the ServiceTimeout. Configuration errors go through helper.init_failure and every request answers FAILED.
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


def _properties(event: dict[str, Any]) -> OverrideProperties:
    return parse_properties(
        event.get("ResourceProperties", {}),
        default_region=FUNCTION_REGION,
        known_regions=rds.known_regions(FUNCTION_REGION),
    )


def _apply(properties: OverrideProperties, event: dict[str, Any], existing: PhysicalId | None) -> str:
    """Make `properties` stand; the physical id records the override found before a new resource."""
    region = properties.region
    certificates = rds.describe_certificates(region)
    standing = current_override(certificates)
    logger.debug(
        "Certificates of the region",
        extra={"region": region, "certificates": [c.identifier for c in certificates], "override": standing},
    )
    chosen = choose_certificate(certificates, properties.certificate_identifier, datetime.now(UTC))
    physical_id = existing or PhysicalId(
        region, standing, stack_digest(event["StackId"], event["LogicalResourceId"])
    )
    if standing == chosen.identifier:
        logger.info("The override already stands", extra={"certificate": chosen.identifier, "region": region})
    else:
        chosen = rds.set_override(region, chosen.identifier)
        logger.info(
            "Override set", extra={"certificate": chosen.identifier, "region": region, "replaced": standing}
        )
    helper.Data.update(attributes(chosen, region=region, previous_override=physical_id.previous_override))
    return str(physical_id)


@helper.create
def create(event: dict[str, Any], _context: Any) -> str:
    return _apply(_properties(event), event, existing=None)


@helper.update
def update(event: dict[str, Any], _context: Any) -> str:
    properties = _properties(event)
    existing = PhysicalId.parse(event.get("PhysicalResourceId"))
    if existing is None or existing.region != properties.region:
        # A new physical id makes CloudFormation Delete the old one, which cleans up the old region.
        logger.info("Replacing the resource", extra={"region": properties.region})
        existing = None
    return _apply(properties, event, existing)


@helper.delete
def delete(event: dict[str, Any], _context: Any) -> str:
    raw_id = str(event.get("PhysicalResourceId", ""))
    physical_id = PhysicalId.parse(raw_id)
    if physical_id is None:
        logger.info("Nothing to delete: the physical id was not issued by a successful Create")
        return raw_id

    declared = event.get("ResourceProperties", {})
    try:
        restore = parse_boolean(
            RESTORE_PREVIOUS_ON_DELETE, declared.get(RESTORE_PREVIOUS_ON_DELETE), default=False
        )
    except PropertyError:
        logger.warning("Ignoring a malformed RestorePreviousOnDelete on Delete", exc_info=True)
        restore = False

    certificates = rds.describe_certificates(physical_id.region)
    now = datetime.now(UTC)
    plan = plan_delete(
        physical_id,
        declared=declared.get(CERTIFICATE_IDENTIFIER),
        restore_previous=restore,
        standing_override=current_override(certificates),
        valid_certificates={c.identifier for c in certificates if not c.expired(now)},
    )
    log = logger.warning if plan.warning else logger.info
    log(f"Delete: {plan.reason}", extra={"action": plan.action.value, "region": physical_id.region})
    if plan.action is DeleteAction.REMOVE:
        rds.remove_override(physical_id.region)
    elif plan.action is DeleteAction.RESTORE and plan.restore_to:
        rds.set_override(physical_id.region, plan.restore_to)
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
        extra={"request": {key: value for key, value in event.items() if key != "ResponseURL"}},
    )
    helper(event, context)
