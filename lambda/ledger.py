"""The only module that calls SSM and CloudFormation: the declarations ledger and the region lock.

The layout and the decisions are in `declarations`; this module reads and writes them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError

import aws_sdk
from rds_override_ledger import aws_answers
from rds_override_ledger.declarations import (
    DECLARATIONS_PATH,
    LEDGER_PATH,
    AlreadyHeld,
    Declaration,
    Ledger,
    LockHolder,
    LockState,
    StackRef,
    TakeLock,
    WaitForLock,
    decide_lock,
    free_lock_value,
    generations_to_forget,
    held_by_another_delivery,
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
# The release retries these itself (botocore does not retry TooManyUpdates, and gives up on throttling after
# five attempts), until this long before the invocation's deadline.
_RELEASE_RETRY_CODES = {"TooManyUpdates", "ThrottlingException", "ThrottledException"}
RELEASE_KEEPS_SECONDS = 1.0
# Old generations are deleted by the batch (one DeleteParameters), not one call per event.
GENERATIONS_FORGOTTEN_AT_ONCE = 4


class RegionBusy(RuntimeError):
    """Another event held the region's lock for longer than this one could wait."""


class AnotherDeliveryHolds(RegionBusy):
    """Another delivery of this very request holds the region's lock: that one answers CloudFormation."""


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


def _ssm(region: str, attempts: int = aws_sdk.ATTEMPTS) -> SSMClient:
    return cast("SSMClient", aws_sdk.client("ssm", region, attempts))


def read_lock(region: str) -> LockState:
    """The region lock's generations: the direct children of the ledger's path (one call per page of 10)."""
    return Ledger.parse(_parameters(region, LEDGER_PATH, recursive=False)).lock


def read_declarations(region: str) -> Ledger:
    """The region's declarations (one call per page of 10). A snapshot only while the lock is held: every
    writer of a declaration holds it, but for the create-only withdrawals, which declare nothing."""
    return Ledger.parse(_parameters(region, DECLARATIONS_PATH, recursive=True))


def _parameters(region: str, path: str, *, recursive: bool) -> Iterator[tuple[str, str]]:
    pages = _ssm(region).get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=recursive)
    return ((parameter["Name"], parameter["Value"]) for page in pages for parameter in page["Parameters"])


def read_entry(region: str, name: str) -> str | None:
    """One entry's value, or None, through its folder (the role may list the ledger, not get one name)."""
    folder = name.rpartition("/")[0]
    return next(
        (value for found, value in _parameters(region, folder, recursive=False) if found == name), None
    )


def record(
    region: str, declaration: Declaration, *, first: bool = False, attempts: int = aws_sdk.ATTEMPTS
) -> None:
    """Write the declaration. `first`: a create-only write, refused (ParameterAlreadyExists) when an entry
    appeared since the ledger was read, such as the withdrawal of a rollback Delete that needs no lock. A
    refusal of this very value (the SDK retried a write whose answer was lost), or attempts that all timed
    out while the value was stored, are no failure."""
    value = declaration.to_json()
    try:
        _put(_ssm(region, attempts), declaration.name, value, overwrite=not first)
    except ClientError as error:
        if not (
            first
            and error_code(error) == "ParameterAlreadyExists"
            and read_entry(region, declaration.name) == value
        ):
            raise
    except BotoCoreError:
        # Every attempt timed out: each may have been stored with only its answer lost. One read tells.
        if read_entry(region, declaration.name) != value:
            raise


def _put(ssm: SSMClient, name: str, value: str, *, overwrite: bool) -> None:
    """Every write of the ledger and the lock: a String in the free standard tier, never escalated."""
    ssm.put_parameter(Name=name, Value=value, Type="String", Tier="Standard", Overwrite=overwrite)


def forget_all(region: str, names: Sequence[str], *, attempts: int = aws_sdk.ATTEMPTS) -> None:
    """Delete entries that are of no use any more (old lock generations, old withdrawals), 10 a call."""
    ssm = _ssm(region, attempts)
    for start in range(0, len(names), 10):
        ssm.delete_parameters(Names=list(names[start : start + 10]))


def forget(region: str, name: str, *, attempts: int = aws_sdk.ATTEMPTS) -> None:
    ssm = _ssm(region, attempts)
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

    `deadline` is when this invocation stops writing (epoch seconds): the lease ends `lease_margin` after
    it, so a lock is taken over only from an invocation that cannot still be writing. The wait gives up at
    `give_up_at`, leaving the time the caller needs for its own work.
    """

    region: str
    holder: LockHolder
    deadline: float
    give_up_at: float
    lease_margin: float
    clock: Clock = field(default_factory=SystemClock)
    generation: int | None = None
    seen: Mapping[int, str] = field(default_factory=dict)
    another_delivery_held: bool = False

    def acquire(self) -> None:
        """Wait for the lock and take it."""
        ssm = _ssm(self.region)
        pause = LOCK_FIRST_PAUSE_SECONDS
        while True:
            state = read_lock(self.region)
            decision = decide_lock(state, self.holder, self.clock.time())
            if isinstance(decision, AlreadyHeld):
                logger.info("The region lock's take had landed", extra={"region": self.region})
                self._held(decision.generation, state)
                return
            if isinstance(decision, TakeLock) and self._take(ssm, decision, state):
                return
            if self.clock.time() + pause > self.give_up_at:
                if isinstance(decision, TakeLock):
                    # The take was refused: who holds it now tells whether to answer at all (below).
                    state = read_lock(self.region)
                    decision = decide_lock(state, self.holder, self.clock.time())
                    if isinstance(decision, AlreadyHeld):
                        self._held(decision.generation, state)
                        return
                self._give_up(decision)
            # Jittered, and never past the budget: the time kept for the work stays kept.
            jittered = pause * (0.5 + random.random())  # noqa: S311 - jitter, not a secret  # nosec B311
            self.clock.sleep(min(jittered, self.give_up_at - self.clock.time()))
            pause = min(pause * 2, LOCK_LONGEST_PAUSE_SECONDS)

    def _give_up(self, decision: TakeLock | WaitForLock) -> NoReturn:
        if isinstance(decision, WaitForLock):
            reason = decision.reason
            if decision.holder is not None and decision.holder.request_id == self.holder.request_id:
                raise AnotherDeliveryHolds(f"Another delivery of this request holds the lock ({reason})")
        else:
            reason = "taken by another event a moment ago"
        raise RegionBusy(
            f"Another change to the RDS default CA of {self.region} is in progress ({reason}) and "
            "did not end in time. Nothing was changed: retry the deployment."
        )

    def _take(self, ssm: SSMClient, decision: TakeLock, state: LockState) -> bool:
        if decision.reason != "free":
            logger.warning(
                "Taking the region lock over", extra={"region": self.region, "reason": decision.reason}
            )
        # The lease is stamped from the deadline: the time spent waiting does not lengthen it.
        lease = lock_value(self.holder, self.deadline + self.lease_margin, self.clock.time())
        try:
            _put(ssm, lock_name(decision.generation), lease, overwrite=False)
        except ClientError as error:
            # Taken by another, or by this very take whose answer was lost: the next read tells which.
            if error_code(error) in _BUSY_CODES:
                return False
            raise
        self._held(decision.generation, state)
        return True

    def _held(self, generation: int, state: LockState) -> None:
        self.generation = generation
        self.seen = {**state.generations, generation: ""}
        # Another delivery of this request held the lock before: it decided, and answers or answered.
        self.another_delivery_held = held_by_another_delivery(state, self.holder)

    def release(self) -> None:
        """Free the lock: create the next generation, free, after deleting the generations nobody can still
        try to create. A failure is logged, never raised: the work it guarded is done, and the lease ends
        the lock. Create-only: a holder taken over (its lease ended) frees nothing."""
        if self.generation is None:
            return
        ssm = _ssm(self.region)
        old = generations_to_forget(LockState(self.seen), self.clock.time())
        pause = LOCK_FIRST_PAUSE_SECONDS
        try:
            if len(old) >= GENERATIONS_FORGOTTEN_AT_ONCE:
                forget_all(self.region, [lock_name(g) for g in old])
            while True:
                try:
                    free = free_lock_value(self.clock.time())
                    _put(ssm, lock_name(self.generation + 1), free, overwrite=False)
                    break
                except ClientError as error:
                    if error_code(error) == "ParameterAlreadyExists":
                        break  # freed by this very call (its answer lost), or taken over: not ours either way
                    # Throttled past the SDK's own retries: a lock left held blocks the region until its
                    # lease ends, so keep trying while this invocation has time (a retry is always safe).
                    if error_code(error) not in _RELEASE_RETRY_CODES or (
                        self.clock.time() + pause > self.deadline - RELEASE_KEEPS_SECONDS
                    ):
                        raise
                    self.clock.sleep(pause)
                    pause = min(pause * 2, LOCK_LONGEST_PAUSE_SECONDS)
        except ClientError as error:
            logger.warning(
                "The region lock could not be released: its lease will end it",
                extra={"region": self.region, "error": error_code(error), "generation": self.generation},
            )
        self.generation = None
