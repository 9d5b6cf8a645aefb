"""Which of issue 19's seven classes a failing schedule shows: for the report and the regression names.

A heuristic over the violations and what the model noted on the way; the step log is the evidence.
"""

from __future__ import annotations

from .aws_model import AwsModel
from .cloudformation import FAILED_FINAL, CloudFormation
from .invariants import Violation

CLASSES = {
    1: "a lock name created twice, or one's own write not recognised after a lost answer",
    2: "the ledger read is not a snapshot (another's write landed between its pages)",
    3: "a request that never held the lock is treated as one that may have changed something",
    4: "CloudFormation's deadline does not bound the work",
    5: "the same resource's next request overtakes the previous one while it still runs",
    6: "the timer's FAILED does not stop the writes behind it",
    7: "withdrawals are never removed",
    8: "(new) a repeated or retried delivery of a request writes after the request was answered",
}


def _stack(delivery: str) -> str:
    return delivery.split("@", maxsplit=1)[0].rsplit(":", 1)[-1]


def classify(  # noqa: PLR0912 - one branch per class reads best
    violations: list[Violation], aws: AwsModel, cfn: CloudFormation, start: float
) -> set[int]:
    """`start`: the schedule's first moment (violations say when they happened relative to it)."""
    if not violations:
        return set()
    found: set[int] = set()
    notes = aws.notes
    took_lock = {detail.split()[0] for kind, _, detail in notes if kind == "lock-taken"}
    if any(kind == "lock-recreated" for kind, _, _ in notes):
        found.add(1)
    for request in cfn.requests.values():
        for answer in request.answers:
            if answer.get("Status") == "FAILED" and request.request_id in str(answer.get("Reason", "")):
                found.add(1)  # it waited for the lock it holds itself
    torn = {who for kind, who, _ in notes if kind == "torn-read"}
    # Class 2: a request that read a torn ledger then wrote RDS, and RDS ends out of step with the ledger.
    rds_writers = {w.caller.name for w in aws.writes if w.target == "rds"}
    out_of_step = ("disagree", "live declarations say", "no live declaration, yet", "applied declaration of")
    for violation in violations:
        message = violation.message
        if "deleted while this Create waited" in message:
            found.add(1)
        if "past CloudFormation's deadline" in message:
            found.add(4)
        if "declaration stands" in message:
            stack = cfn.requests[violation.request_id].stack
            if any(r.kind == "create" and r.outcome == "TIMEOUT" for r in stack.requests):
                found.add(4)  # the Create's work went on past the deadline; the rollback found nothing
        if violation.other and _stack(violation.other) == _stack(message.split()[0]):
            found.add(5)
        if "CloudFormation holds" in message:
            found.add(5)
        if "after its request was answered" in message:
            request = cfn.requests[violation.request_id]
            later = [r for r in request.stack.requests if r.sent_at > request.sent_at]
            if any("about to time out" in str(answer.get("Reason", "")) for answer in request.answers[:1]):
                found.add(6)  # the timer answered, and the write went on behind it
            elif later and later[0].sent_at <= start + violation.at:
                found.add(5)  # the same resource's next request was sent before this write
            else:
                found.add(8)
        if "the ledger keeps" in message and "withdrawn" in message:
            found.add(7)
        if torn & rds_writers and any(words in message for words in out_of_step):
            found.add(2)
    for stack in cfn.stacks:
        if stack.status in FAILED_FINAL and len(stack.requests) >= 2:
            original = stack.requests[-2]
            if original.request_id not in took_lock:
                found.add(3)
    return found
