"""The only module that calls SSM and CloudFormation: the declarations ledger and the region lock.

The layout and the decisions are in `declarations`; this module reads and writes them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

import aws_sdk
from declarations import (
    DECLARATIONS_PATH,
    LOCK_NAME,
    Declaration,
    StackRef,
    lock_expired,
    lock_value,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ssm import SSMClient

# A child of the handler's Powertools logger: same JSON, same keys.
logger = logging.getLogger("rds-certificate-override.ledger")

_LOCK_FIRST_PAUSE_SECONDS = 0.05
_LOCK_LONGEST_PAUSE_SECONDS = 1.0


class RegionBusy(RuntimeError):
    """Another event held the region's lock for longer than this one could wait."""


def _ssm(region: str) -> SSMClient:
    return cast("SSMClient", aws_sdk.client("ssm", region))


def declarations(region: str) -> list[Declaration]:
    """Every declaration recorded for the region. One call per page of 10."""
    pages = (
        _ssm(region).get_paginator("get_parameters_by_path").paginate(Path=DECLARATIONS_PATH, Recursive=True)
    )
    found = []
    for page in pages:
        for parameter in page.get("Parameters", []):
            try:
                found.append(Declaration.from_json(parameter["Value"]))
            except ValueError as error:
                # Perhaps a newer version's format: never deleted, never trusted.
                logger.warning(
                    "Ignoring an unreadable declaration",
                    extra={"parameter": parameter["Name"], "error": str(error)},
                )
    return found


def record(region: str, declaration: Declaration) -> None:
    _ssm(region).put_parameter(
        Name=declaration.name,
        Value=declaration.to_json(),
        Type="String",
        Tier="Standard",  # free; never escalated to the paid tier
        Overwrite=True,
    )


def forget(region: str, declaration: Declaration) -> None:
    _delete(_ssm(region), declaration.name)


def stack_gone(stack_id: str) -> bool:
    """True when the stack is deleted. Asked by ARN, in the stack's own region: a deleted stack's ARN still
    answers DELETE_COMPLETE for a while, and later "does not exist"."""
    stack = StackRef.parse(stack_id)
    if stack is None:
        return False  # not a stack ARN: nothing can be said, so it is kept
    cloudformation = cast("CloudFormationClient", aws_sdk.client("cloudformation", stack.region))
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError" and "does not exist" in str(error):
            return True
        raise
    return not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE"


@contextmanager
def region_lock(
    region: str, holder: Mapping[str, str], *, wait_seconds: float, lease_seconds: float
) -> Iterator[None]:
    """Hold the region's lock: a create-only SSM parameter (PutParameter without Overwrite), deleted after.

    Events for one region arrive concurrently from different stacks and providers; the lock makes each
    read-decide-write of the ledger and of RDS happen one at a time. The lease outlives the holder's own
    deadline, so a lock left by a stopped invocation is taken over only when its holder cannot be running.
    """
    ssm = _ssm(region)
    give_up_at = time.monotonic() + wait_seconds
    pause = _LOCK_FIRST_PAUSE_SECONDS
    while True:
        try:
            ssm.put_parameter(
                Name=LOCK_NAME,
                Value=lock_value(holder, time.time() + lease_seconds),
                Type="String",
                Tier="Standard",
                Overwrite=False,
            )
            break
        except ssm.exceptions.ParameterAlreadyExists:
            pass
        current = _get(ssm, LOCK_NAME)
        if current is not None and lock_expired(current, time.time()):
            # SSM has no conditional delete: two takers that both read this expired value could both delete
            # it, the second removing the first's new lock, and both would then hold one. That needs a holder
            # that died holding the lock and two takers within the same few milliseconds.
            logger.warning("Taking over an expired region lock", extra={"region": region, "lock": current})
            _delete(ssm, LOCK_NAME)
            continue
        if time.monotonic() + pause > give_up_at:
            raise RegionBusy(
                f"Another change to the RDS default CA of {region} is in progress "
                f"({current or 'just ended'}) and did not end within {wait_seconds:.0f} s. "
                "Nothing was changed: retry the deployment."
            )
        time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret  # nosec B311
        pause = min(pause * 2, _LOCK_LONGEST_PAUSE_SECONDS)
    try:
        yield
    finally:
        _delete(ssm, LOCK_NAME)


def _get(ssm: SSMClient, name: str) -> str | None:
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def _delete(ssm: SSMClient, name: str) -> None:
    with suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)
