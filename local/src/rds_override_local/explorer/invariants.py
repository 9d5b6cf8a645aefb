"""The four promises the explorer checks: I1 at every write, I4 at every answer, I2 and I3 once settled.

- I1 at most one request writes RDS or the declarations at any moment (its writes are not interleaved with
  another request's), and none writes after its answer was sent, after Lambda stopped it, or past
  CloudFormation's deadline for it. A withdrawal mark written create-only is written without the lock by
  design: it takes no part in the interleaving check, only in the others.
- I2 once everything settles, RDS's override is what the live declarations make it (their CA; what stood
  before, or no override, when there are none), and every live declaration belongs to a resource that
  CloudFormation holds as created, with the CA it holds for it (and each created resource has one).
- I3 no Delete and no rollback answers FAILED or goes unanswered: the only faults are transient ones the
  provider can absorb, so no stack may end ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED or DELETE_FAILED.
- I4 each answer CloudFormation accepts tells the truth: SUCCESS only when RDS and the ledger say what it
  says; FAILED only when the request changed nothing, or its Reason says what remained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rds_override_ledger.declarations import WITHDRAWAL_LIFETIME_SECONDS

from .aws_model import DECLARATIONS_PREFIX, AwsModel, Write
from .cloudformation import FAILED_FINAL, LOGICAL_ID, CloudFormation, Request, Stack

_SAYS_WHAT_REMAINED = ("remain", "still", "left ")


@dataclass(frozen=True)
class Violation:
    invariant: str
    at: float
    message: str
    request_id: str = ""
    """The request the violation is about, when there is one."""
    other: str = ""
    """For an interleaving: the delivery whose writes came in between."""

    def __str__(self) -> str:
        return f"{self.invariant} at +{self.at:.3f}s: {self.message}"


def declaration_name(stack: Stack) -> str:
    _, _, rest = stack.arn.partition(":stack/")
    return f"{DECLARATIONS_PREFIX}{rest}/{LOGICAL_ID}"


def _entry(aws: AwsModel, stack: Stack) -> dict[str, Any] | None:
    parameter = aws.parameters.get(declaration_name(stack))
    if parameter is None:
        return None
    try:
        value = json.loads(parameter.value)
    except ValueError:
        return {"State": "unreadable"}
    return value if isinstance(value, dict) else {"State": "unreadable"}


def snapshot(aws: AwsModel, stack: Stack) -> tuple[str | None, str | None]:
    parameter = aws.parameters.get(declaration_name(stack))
    return aws.override, parameter.value if parameter else None


@dataclass
class Invariants:
    aws: AwsModel
    cfn: CloudFormation
    start: float
    violations: list[Violation] = field(default_factory=list)
    _last_writer: Any = None
    _overtaken: dict[str, str] = field(default_factory=dict)

    def _violate(self, invariant: str, message: str, request_id: str = "", other: str = "") -> None:
        self.violations.append(
            Violation(invariant, self.aws.scheduler.now - self.start, message, request_id, other)
        )
        self.aws.scheduler.log("CHECK", f"VIOLATION {invariant}: {message}")

    # --- I1 ------------------------------------------------------------------------------------------
    def on_write(self, write: Write) -> None:
        request = self.cfn.requests.get(write.caller.request_id)
        if write.withdrawal_create:
            # A withdrawal mark declares nothing and is written create-only, without the lock, by design.
            return
        if write.target == "rds":
            self._overwritten(write)
        target = write.target.rsplit("/", 2)[-2] if "/" in write.target else write.target
        what = f"{write.caller.name} {write.detail} ({target})"
        if request is not None:
            rid = request.request_id
            if request.answered_at is not None:
                self._violate(
                    "I1",
                    f"{what} after its request was answered at +{request.answered_at - self.start:.3f}s",
                    rid,
                )
            if write.at > request.deadline:
                self._violate(
                    "I1",
                    f"{what} past CloudFormation's deadline for it (+{request.deadline - self.start:.0f}s)",
                    rid,
                )
        if getattr(write.caller, "killed", False):
            self._violate("I1", f"{what} after Lambda stopped its process")
        name = write.caller.name
        if name in self._overtaken:
            other = self._overtaken.pop(name)
            self._violate(
                "I1",
                f"{what}: its writes are interleaved with {other}'s (it wrote, then {other}, then it again)",
                write.caller.request_id,
                other,
            )
        if self._last_writer is not None and self._last_writer != name:
            self._overtaken[self._last_writer] = name
        self._last_writer = name

    def _overwritten(self, write: Write) -> None:
        """I2 at the moment it breaks: an RDS write against another created resource's applied declaration
        (a decision taken on a ledger read that missed it)."""
        for stack in self.cfn.stacks:
            entry = _entry(self.aws, stack)
            if (
                stack.resource is not None
                and entry is not None
                and entry.get("State") == "applied"
                and entry.get("StackId") != self.cfn.requests[write.caller.request_id].stack.arn
                and entry.get("CertificateIdentifier") != self.aws.override
            ):
                self._violate(
                    "I2",
                    f"{write.caller.name} set RDS to {self.aws.override or 'no override'} over "
                    f"{stack.name}'s applied declaration of {entry.get('CertificateIdentifier')}",
                    write.caller.request_id,
                )

    # --- I4 ------------------------------------------------------------------------------------------
    def on_answer(self, request: Request, answer: dict[str, Any]) -> None:
        entry = _entry(self.aws, request.stack)
        override = self.aws.override
        status, reason = answer["Status"], str(answer.get("Reason", ""))
        if status == "SUCCESS":
            if request.kind in ("create", "update", "rollback-update"):
                wanted = request.certificate
                if override != wanted:
                    self._violate(
                        "I4",
                        f"{request.describe()} answered SUCCESS but RDS's override is {override}",
                        request.request_id,
                    )
                if (
                    entry is None
                    or entry.get("State") != "applied"
                    or entry.get("CertificateIdentifier") != wanted
                ):
                    self._violate(
                        "I4",
                        f"{request.describe()} answered SUCCESS but its declaration is {entry}",
                        request.request_id,
                    )
            elif (
                request.kind in ("delete", "rollback-delete")
                and entry is not None
                and entry.get("State") != "withdrawn"
            ):
                self._violate(
                    "I4",
                    f"{request.describe()} answered SUCCESS but its declaration stands: {entry}",
                    request.request_id,
                )
            return
        wrote = any(w.caller.request_id == request.request_id for w in self.aws.writes)
        now = snapshot(self.aws, request.stack)
        changed = wrote and (now != request.before)
        if changed and not any(word in reason.lower() for word in _SAYS_WHAT_REMAINED):
            self._violate(
                "I4",
                f"{request.describe()} answered FAILED ({reason[:160]!r}) but it changed RDS or its "
                f"declaration: override {request.before[0]} -> {now[0]}, "
                f"declaration {_state(request.before[1])} -> {_state(now[1])}",
                request.request_id,
            )

    # --- I2, I3 --------------------------------------------------------------------------------------
    def settled(self) -> None:  # noqa: PLR0912 - each check of I2 and I3 in turn reads best
        for stack in self.cfn.stacks:
            if stack.status in FAILED_FINAL and _could_answer(stack.requests[-1]):
                failed = stack.requests[-1]
                why = (
                    failed.answer.get("Reason", "")
                    if failed.answer
                    else "no answer before CloudFormation's deadline"
                )
                self._violate(
                    "I3",
                    f"stack {stack.name} ended {stack.status}: {failed.describe()} -> {why[:200]!r}",
                    failed.request_id,
                )
            for request in stack.requests:
                if (
                    request.kind == "cleanup-delete"
                    and request.outcome != "SUCCESS"
                    and _could_answer(request)
                ):
                    self._violate("I3", f"{request.describe()} failed: {request.answer}")
            if not stack.done:
                self._violate("I2", f"stack {stack.name} did not settle ({stack.status})")
        live = {}
        by_name = {declaration_name(s): s for s in self.cfn.stacks}
        for name, parameter in sorted(self.aws.parameters.items()):
            if not name.startswith(DECLARATIONS_PREFIX):
                continue
            # A withdrawal must outlive every delivery of its failed Create that could still act (a stack
            # deleted meanwhile included): it goes with the first event after WITHDRAWAL_LIFETIME_SECONDS.
            if _state(parameter.value) == "withdrawn":
                expired = parameter.modified_at + WITHDRAWAL_LIFETIME_SECONDS
                later = [r for r in self.cfn.requests.values() if (r.first_run or 0) > expired]
                if later:
                    self._violate(
                        "I2",
                        f"the ledger keeps the withdrawal {name} though it expired at "
                        f"+{expired - self.start:.0f}s and {later[0].describe()} ran after",
                    )
            try:
                value = json.loads(parameter.value)
            except ValueError:
                self._violate("I2", f"unreadable ledger entry {name}")
                continue
            if value.get("State") != "withdrawn":
                live[name] = value
        for name, value in live.items():
            owner = by_name.get(name)
            if owner is None or owner.resource is None:
                self._violate(
                    "I2",
                    f"live declaration {value.get('CertificateIdentifier')} ({value.get('State')}) of "
                    f"{owner.name if owner else name}, which CloudFormation does not hold as created "
                    f"({owner.status if owner else 'unknown'})",
                )
            elif owner.resource.properties["CertificateIdentifier"] != value.get("CertificateIdentifier"):
                self._violate(
                    "I2",
                    f"{owner.name} declares {value.get('CertificateIdentifier')} but CloudFormation holds "
                    f"{owner.resource.properties['CertificateIdentifier']}",
                )
        for stack in self.cfn.stacks:
            # A stack whose Delete or rollback failed is I3's concern: its resource's fate is open.
            if (
                stack.resource is not None
                and stack.status not in FAILED_FINAL
                and declaration_name(stack) not in live
            ):
                self._violate(
                    "I2", f"{stack.name} is created ({stack.resource.properties}) but has no live declaration"
                )
        declared = {v.get("CertificateIdentifier") for v in live.values()}
        override = self.aws.override
        if len(declared) > 1:
            self._violate("I2", f"live declarations disagree: {sorted(map(str, declared))}")
        elif declared and override not in declared:
            self._violate(
                "I2", f"RDS's override is {override} but the live declarations say {declared.pop()}"
            )
        elif not declared and override not in (None, self.aws.initial_override):
            self._violate(
                "I2",
                f"no live declaration, yet RDS's override is {override} "
                f"(before: {self.aws.initial_override})",
            )


LATE_DELIVERY_SECONDS = 30.0


def _could_answer(request: Request) -> bool:
    """Whether the function had a chance to answer: a request Lambda first ran (or never ran) less than
    LATE_DELIVERY_SECONDS before CloudFormation's deadline could not be answered by any provider."""
    return request.first_run is not None and request.first_run <= request.deadline - LATE_DELIVERY_SECONDS


def _state(value: str | None) -> str:
    if value is None:
        return "absent"
    try:
        raw = json.loads(value)
        return f"{raw.get('State')} {raw.get('CertificateIdentifier')}"
    except ValueError:
        return "unreadable"
