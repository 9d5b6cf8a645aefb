"""The only module that calls SSM and CloudFormation: the declarations ledger and the region lock.

The layout and the decisions are in `declarations`; this module reads and writes them.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from botocore.exceptions import ClientError

import aws_sdk
from rds_override_ledger import aws_answers
from rds_override_ledger.declarations import (
    FIRST_GENERATION,
    FREE_LOCK_VALUE,
    LEDGER_PATH,
    Declaration,
    Ledger,
    LockHolder,
    StackRef,
    TakeLock,
    decide_lock,
    lock_name,
    lock_value,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ssm import SSMClient

# A child of the handler's Powertools logger: same JSON, same keys.
logger = logging.getLogger("rds-certificate-override.ledger")

LOCK_FIRST_PAUSE_SECONDS = 0.05
LOCK_LONGEST_PAUSE_SECONDS = 1.0
# SSM's answers that mean "someone else is changing this right now": wait and try again, as for a held lock.
_BUSY_CODES = {"ParameterAlreadyExists", "TooManyUpdates"}


class RegionBusy(RuntimeError):
    """Another event held the region's lock for longer than this one could wait."""


class Clock(Protocol):
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _ssm(region: str) -> SSMClient:
    return cast("SSMClient", aws_sdk.client("ssm", region))


def read(region: str) -> Ledger:
    """The region's declarations and lock, in one GetParametersByPath (one call per page of 10)."""
    pages = _ssm(region).get_paginator("get_parameters_by_path").paginate(Path=LEDGER_PATH, Recursive=True)
    return Ledger.parse(
        (parameter["Name"], parameter["Value"]) for page in pages for parameter in page.get("Parameters", [])
    )


def record(region: str, declaration: Declaration, *, first: bool = False) -> None:
    """Write the declaration. `first`: a create-only write, refused (ParameterAlreadyExists) when an entry
    appeared since the ledger was read, such as the withdrawal of a rollback Delete that needs no lock."""
    _put(_ssm(region), declaration.name, declaration.to_json(), overwrite=not first)


def _put(ssm: SSMClient, name: str, value: str, *, overwrite: bool) -> None:
    """Every write of the ledger and the lock: a String in the free standard tier, never escalated."""
    ssm.put_parameter(Name=name, Value=value, Type="String", Tier="Standard", Overwrite=overwrite)


def forget(region: str, name: str) -> None:
    ssm = _ssm(region)
    with suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)


def stack_gone(stack_id: str) -> bool:
    """True when the stack is deleted. Asked by ARN, in the stack's own region: a deleted stack's ARN still
    answers DELETE_COMPLETE for a while, and later "does not exist". An error names the stack's region."""
    stack = StackRef.parse(stack_id)
    if stack is None:
        return False  # not a stack ARN: nothing can be said, so it is kept
    cloudformation = cast("CloudFormationClient", aws_sdk.client("cloudformation", stack.region))
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    except ClientError as error:
        if aws_answers.stack_gone(None, error_code(error), str(error)):
            return True
        raise StackRegionError(stack, error) from error
    return aws_answers.stack_gone(stacks)


class StackRegionError(RuntimeError):
    """CloudFormation in a declaring stack's own region could not say whether that stack still exists."""

    def __init__(self, stack: StackRef, error: ClientError) -> None:
        super().__init__(
            f"Could not tell whether stack {stack.name}, which declares a CA here, still exists: "
            f"CloudFormation in its region {stack.region} answered {error_code(error)} "
            f"({error.response.get('Error', {}).get('Message', '')}). Nothing was changed."
        )


@dataclass
class RegionLock:
    """The region's lock (see `declarations.decide_lock`), held around one read-decide-write of the ledger.

    `deadline` is when this invocation's answer is due (epoch seconds): the lease ends `lease_margin` after
    it, so a lock is taken over only from an invocation that cannot still be running. The wait gives up at
    `give_up_at`, leaving the time the caller needs for its own work.
    """

    region: str
    holder: LockHolder
    deadline: float
    give_up_at: float
    lease_margin: float
    clock: Clock = field(default_factory=SystemClock)
    generation: int | None = None
    superseded: tuple[int, ...] = ()

    def acquire(self) -> Ledger:
        """Wait for the lock and take it. Returns the ledger as read just before taking it: nobody could
        change it in between, since any holder would have created the generation this one creates."""
        ssm = _ssm(self.region)
        pause = LOCK_FIRST_PAUSE_SECONDS
        while True:
            ledger = read(self.region)
            decision = decide_lock(ledger.lock, self.holder, self.clock.time())
            if isinstance(decision, TakeLock):
                if self._take(ssm, decision):
                    return ledger
                reason = "taken by another event a moment ago"
            else:
                reason = decision.reason
            if self.clock.time() + pause > self.give_up_at:
                raise RegionBusy(
                    f"Another change to the RDS default CA of {self.region} is in progress ({reason}) and "
                    "did not end in time. Nothing was changed: retry the deployment."
                )
            # Jittered, and never past the budget: the time kept for the work stays kept.
            jittered = pause * (0.5 + random.random())  # noqa: S311 - jitter, not a secret  # nosec B311
            self.clock.sleep(min(jittered, self.give_up_at - self.clock.time()))
            pause = min(pause * 2, LOCK_LONGEST_PAUSE_SECONDS)

    def _take(self, ssm: SSMClient, decision: TakeLock) -> bool:
        if decision.reason != "free":
            logger.warning(
                "Taking the region lock over", extra={"region": self.region, "reason": decision.reason}
            )
        try:
            # The lease is stamped now, from the deadline: the time spent waiting does not lengthen it.
            lease = lock_value(self.holder, self.deadline + self.lease_margin)
            _put(ssm, lock_name(decision.generation), lease, overwrite=False)
        except ClientError as error:
            if error_code(error) in _BUSY_CODES:
                return False
            raise
        self.generation, self.superseded = decision.generation, decision.superseded
        return True

    def release(self) -> None:
        """Free the lock. A failure is logged, never raised: the work it guarded is done, and the lease
        ends the lock (this resource's own next event takes it over at once)."""
        if self.generation is None:
            return
        ssm = _ssm(self.region)
        try:
            if self.superseded:
                for start in range(0, len(self.superseded), 10):  # DeleteParameters takes 10 names
                    ssm.delete_parameters(Names=[lock_name(g) for g in self.superseded[start : start + 10]])
            else:  # the first generation: nothing below it to delete, so a free one goes above it
                _put(ssm, lock_name(FIRST_GENERATION + 1), FREE_LOCK_VALUE, overwrite=False)
        except ClientError as error:
            logger.warning(
                "The region lock could not be released: its lease will end it",
                extra={"region": self.region, "error": error_code(error), "generation": self.generation},
            )
        self.generation = None
