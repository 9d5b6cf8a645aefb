"""CloudFormation as the explorer models it: stacks, their requests, what follows each answer.

Each stack has one Custom::RdsCertificateOverride resource and a plan drawn from the seed: Create, some
CA changes, perhaps a Delete. CloudFormation's real follow-ups: a FAILED Create is followed by a Delete
carrying the physical id the answer gave; a FAILED Update by a rollback Update with the properties swapped;
an Update answering a new physical id by a Delete of the old one; no answer by `X-Amz-Date` +
`ServiceTimeout` counts as FAILED. Lambda may deliver an event twice, or late (within the event age).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .aws_model import CERTIFICATES
from .scheduler import Scheduler

LOGICAL_ID = "Override"
RESOURCE_TYPE = "Custom::RdsCertificateOverride"
FAILED_FINAL = ("ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED")
DELETED_STACK_REMEMBERED_SECONDS = 900
"""How long DescribeStacks by ARN still answers DELETE_COMPLETE before 'does not exist'."""

# The resource's ServiceTimeout, at least the function's own timeout (template.yaml: 120 s), as the docs
# require: with 60 s (tried: seeds 3, 1004, 1029 of the first runs), a rollback that must wait for the
# region's lock under SSM faults has less time than a holder may keep it, and fails.
SERVICE_TIMEOUTS = (120, 180, 300)


@dataclass
class Resource:
    physical_id: str
    properties: dict[str, str]


@dataclass
class Request:
    """One request CloudFormation sent, and what became of it."""

    stack: Stack
    kind: str  # create, update, delete, rollback-delete, rollback-update, cleanup-delete
    event: dict[str, Any]
    sent_at: float
    deadline: float
    before: tuple[str | None, str | None] = (None, None)
    """RDS's override and this resource's ledger entry when the request was sent (for I4)."""
    answer: dict[str, Any] | None = None
    answered_at: float | None = None
    """When a delivery first answered (accepted or not)."""
    outcome: str | None = None  # SUCCESS, FAILED, TIMEOUT
    answers: list[dict[str, Any]] = field(default_factory=list)
    """Every answer any delivery sent, CloudFormation waiting or not."""
    first_run: float | None = None
    """When a delivery of it first started running."""
    expiry: Any = None

    @property
    def request_id(self) -> str:
        return str(self.event["RequestId"])

    @property
    def certificate(self) -> str:
        return str(self.event["ResourceProperties"]["CertificateIdentifier"])

    def describe(self) -> str:
        return f"{self.kind} of {self.stack.name} ({self.certificate}) request {self.request_id[-4:]}"


@dataclass
class Stack:
    name: str
    arn: str
    service_timeout: int
    plan: list[str | None]
    """The CAs of Create and each Update, then None for a Delete (absent: the stack stays)."""
    status: str = "CREATE_IN_PROGRESS"
    resource: Resource | None = None
    deleted_at: float | None = None
    requests: list[Request] = field(default_factory=list)
    done: bool = False


@dataclass
class CloudFormation:
    scheduler: Scheduler
    region: str
    account: str
    deliver: Callable[[dict[str, Any], float], None]
    snapshot: Callable[[Stack], tuple[str | None, str | None]]
    """The override and this stack's ledger entry now (for I4)."""
    duplicate: float = 0.1
    delay: float = 0.1
    stacks: list[Stack] = field(default_factory=list)
    requests: dict[str, Request] = field(default_factory=dict)
    on_answer: Callable[[Request, dict[str, Any]], None] = lambda _r, _a: None

    def add_stack(self, number: int) -> Stack:
        rng = self.scheduler.rng
        name = f"s{number}"
        stack_uuid = uuid.UUID(int=rng.getrandbits(128))
        arn = f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name}/{stack_uuid}"
        plan: list[str | None] = [rng.choice(CERTIFICATES)]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            plan.append(rng.choice([c for c in CERTIFICATES if c != plan[-1]]))
        if rng.random() < 0.6:
            plan.append(None)
        stack = Stack(name, arn, rng.choice(SERVICE_TIMEOUTS), plan)
        self.stacks.append(stack)
        start = self.scheduler.now + rng.uniform(0, 60)
        self.scheduler.at(start, f"CloudFormation creates {name}", lambda: self._next(stack))
        return stack

    def stack_status(self, arn: str) -> str | None:
        for stack in self.stacks:
            if stack.arn == arn:
                if (
                    stack.deleted_at is not None
                    and self.scheduler.now > stack.deleted_at + DELETED_STACK_REMEMBERED_SECONDS
                ):
                    return None
                return stack.status
        return None

    # --- sending -------------------------------------------------------------------------------------
    def _next(self, stack: Stack) -> None:
        """The stack's next planned operation, if any."""
        if not stack.plan:
            stack.done = True
            return
        step = stack.plan.pop(0)
        if stack.resource is None:
            if step is None:
                stack.done = True
                return
            stack.status = "CREATE_IN_PROGRESS"
            self._send(stack, "create", "Create", {"CertificateIdentifier": step})
        elif step is None:
            stack.status = "DELETE_IN_PROGRESS"
            self._send(
                stack, "delete", "Delete", stack.resource.properties, physical_id=stack.resource.physical_id
            )
        else:
            stack.status = "UPDATE_IN_PROGRESS"
            self._send(
                stack,
                "update",
                "Update",
                {"CertificateIdentifier": step},
                physical_id=stack.resource.physical_id,
                old=stack.resource.properties,
            )

    def _send(
        self,
        stack: Stack,
        kind: str,
        request_type: str,
        properties: dict[str, str],
        *,
        physical_id: str | None = None,
        old: dict[str, str] | None = None,
    ) -> None:
        sched, rng = self.scheduler, self.scheduler.rng
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        signed_at = int(sched.now)
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at))
        key = quote(f"{stack.arn}|{LOGICAL_ID}|{request_id}", safe="")
        url = (
            f"https://cloudformation-custom-resource-response-{self.region.replace('-', '')}.s3.{self.region}"
            f".amazonaws.com/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}"
            "&X-Amz-SignedHeaders=host&X-Amz-Expires=7200&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3"
            "%2Faws4_request&X-Amz-Signature=0"
        )
        service_token = f"arn:aws:lambda:{self.region}:{self.account}:function:rds-certificate-override"
        timeout = {"ServiceToken": service_token, "ServiceTimeout": str(stack.service_timeout)}
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": service_token,
            "ResponseURL": url,
            "StackId": stack.arn,
            "RequestId": request_id,
            "LogicalResourceId": LOGICAL_ID,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": {**timeout, **properties},
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = {**timeout, **old}
        request = Request(stack, kind, event, sched.now, signed_at + stack.service_timeout)
        request.before = self.snapshot(stack)
        stack.requests.append(request)
        self.requests[request_id] = request
        sched.log(
            "cloudformation", f"sends {request.describe()}, waits until +{request.deadline - sched.now:.0f}s"
        )
        request.expiry = sched.at(
            request.deadline,
            f"CloudFormation stops waiting for {request.describe()}",
            lambda: self._expire(request),
        )
        deliveries = 2 if rng.random() < self.duplicate else 1
        for _ in range(deliveries):
            delay = (
                rng.uniform(0, 0.5)
                if rng.random() >= self.delay
                else rng.uniform(0, stack.service_timeout * 1.5)
            )
            sched.at(
                sched.now + delay,
                f"Lambda delivers {request.describe()}",
                functools.partial(self.deliver, event, sched.now),
            )

    # --- answers -------------------------------------------------------------------------------------
    def answered(self, request_id: str, body: bytes) -> bool:
        """The answer PUT to the ResponseURL (in the answering task: a scheduling point)."""
        sched = self.scheduler
        answer = json.loads(body)
        request = self.requests[request_id]
        if request.answered_at is None:
            request.answered_at = sched.now
        request.answers.append(answer)
        reason, physical_id = answer.get("Reason", "")[:120], answer["PhysicalResourceId"][-12:]
        sched.point(f"PUT answer {answer['Status']} {reason!r} id={physical_id}")
        if request.outcome is None and sched.now <= request.deadline:
            request.answer, request.outcome = answer, answer["Status"]
            request.expiry.cancelled = True
            self.on_answer(request, answer)
            sched.at(
                sched.now + sched.rng.uniform(0.1, 3),
                f"CloudFormation reads the answer to {request.describe()}",
                lambda: self._react(request),
            )
        return True

    def _expire(self, request: Request) -> None:
        if request.outcome is None:
            request.outcome = "TIMEOUT"
            self._react(request)

    def _react(self, request: Request) -> None:  # noqa: PLR0912 - one branch per kind, as CloudFormation has
        stack, kind, ok = request.stack, request.kind, request.outcome == "SUCCESS"
        answer = request.answer or {}
        physical_id = str(answer.get("PhysicalResourceId") or "")
        props = {k: v for k, v in request.event["ResourceProperties"].items() if k == "CertificateIdentifier"}
        if kind == "create":
            if ok:
                stack.resource, stack.status = Resource(physical_id, props), "CREATE_COMPLETE"
                self._later(stack)
            else:
                stack.status = "ROLLBACK_IN_PROGRESS"
                # No answer: CloudFormation still deletes the resource, under an id of its own.
                rid = physical_id or f"{stack.name}-{LOGICAL_ID}-{self.scheduler.rng.getrandbits(32):08X}"
                self._send(stack, "rollback-delete", "Delete", props, physical_id=rid)
        elif kind == "rollback-delete":
            stack.status = "ROLLBACK_COMPLETE" if ok else "ROLLBACK_FAILED"
            stack.done = True
            if ok and self.scheduler.rng.random() < 0.7:
                # The owner deletes the rolled-back stack: no resource is left, so no event is sent.
                self.scheduler.at(
                    self.scheduler.now + self.scheduler.rng.uniform(5, 120),
                    f"the owner deletes {stack.name}",
                    lambda: self._deleted(stack),
                )
        elif kind == "update":
            assert stack.resource is not None  # noqa: S101  # nosec B101
            if ok:
                old = stack.resource
                stack.resource, stack.status = Resource(physical_id, props), "UPDATE_COMPLETE"
                if physical_id != old.physical_id:
                    self._send(stack, "cleanup-delete", "Delete", old.properties, physical_id=old.physical_id)
                else:
                    self._later(stack)
            else:
                stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
                self._send(
                    stack,
                    "rollback-update",
                    "Update",
                    stack.resource.properties,
                    physical_id=stack.resource.physical_id,
                    old=props,
                )
        elif kind == "rollback-update":
            stack.status = "UPDATE_ROLLBACK_COMPLETE" if ok else "UPDATE_ROLLBACK_FAILED"
            if ok:
                self._later(stack)
            else:
                stack.done = True
        elif kind == "cleanup-delete":
            stack.status = "UPDATE_COMPLETE"
            self._later(stack)
        elif kind == "delete":
            if ok:
                stack.resource, stack.status, stack.deleted_at = None, "DELETE_COMPLETE", self.scheduler.now
            else:
                stack.status = "DELETE_FAILED"
            stack.done = True

    def _deleted(self, stack: Stack) -> None:
        stack.status, stack.deleted_at = "DELETE_COMPLETE", self.scheduler.now

    def started(self, request_id: str) -> None:
        request = self.requests[request_id]
        if request.first_run is None:
            request.first_run = self.scheduler.now

    def _later(self, stack: Stack) -> None:
        delay = self.scheduler.rng.uniform(0, 120)
        self.scheduler.at(
            self.scheduler.now + delay, f"CloudFormation goes on with {stack.name}", lambda: self._next(stack)
        )
