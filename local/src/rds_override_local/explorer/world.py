"""One schedule: CloudFormation, Lambda and AWS models wired to the real function, run from a seed."""

from __future__ import annotations

import importlib.util
import logging
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .. import settings
from .aws_model import AwsModel, Faults
from .classes import CLASSES, classify
from .cloudformation import CloudFormation
from .invariants import Invariants, Violation, snapshot
from .lambda_model import LambdaService, install_sdk_patches
from .scheduler import Scheduler

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: far from every certificate's expiry
REGION = settings.REGION
ACCOUNT = settings.ACCOUNT_ID
LAMBDA_TIMEOUTS = (120, 180, 300)
"""The function's timeout (template.yaml: 120 s). Below about 60 s no write fits its own time budget."""


@dataclass
class Outcome:
    seed: int
    violations: list[Violation]
    steps: list[tuple[float, str, str]]
    calls: int
    deliveries: int
    crashes: list[tuple[str, BaseException]]
    summary: str
    classes: set[int]
    """Issue 19's classes this schedule shows (`classes.classify`)."""

    @property
    def failed(self) -> bool:
        return bool(self.violations or self.crashes)

    def step_log(self) -> str:
        lines = [f"seed {self.seed}: {self.summary}"]
        lines += [f"{t - START:10.3f}  {who:<28} {what}" for t, who, what in self.steps]
        lines += [f"CRASH in {name}: {type(error).__name__}: {error}" for name, error in self.crashes]
        lines += [f"VIOLATION {violation}" for violation in self.violations]
        lines += [f"CLASS {number}: {CLASSES[number]}" for number in sorted(self.classes)]
        return "\n".join(lines)


class NotImportable(RuntimeError):
    """The function's code (lambda/) is not on the path."""


def prepare() -> Callable[[], None]:
    """The process set-up every run needs: the function's environment (dummy credentials, its region),
    botocore's backoff in virtual time. The function's code (lambda/) must be importable. Returns what
    undoes it (`prepared`)."""
    if importlib.util.find_spec("index") is None:
        raise NotImportable(
            "The function's code is not importable: run with PYTHONPATH=lambda (make explore does), "
            "or under pytest (pyproject's pythonpath)."
        )
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        settings.ISOLATED_AWS_ENVIRONMENT, AWS_REGION=REGION, POWERTOOLS_SERVICE_NAME=settings.SERVICE_NAME
    )
    undo_patches = install_sdk_patches()

    def undo() -> None:
        undo_patches()
        os.environ.clear()
        os.environ.update(saved)

    return undo


@contextmanager
def prepared() -> Iterator[None]:
    """`prepare`, undone afterwards: for a test session that runs other tests too."""
    undo = prepare()
    try:
        with quiet():
            yield
    finally:
        undo()


@contextmanager
def quiet() -> Iterator[None]:
    """No log record is even formatted while schedules run: they would cost more than the schedule."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def run_schedule(seed: int, *, storm: bool = False) -> Outcome:
    """Schedule `seed`; `storm`: a fault storm in every schedule (the same seed is then another schedule)."""
    sched = Scheduler(seed, start=START)
    rng = sched.rng
    random.seed(seed)  # botocore's retry jitter draws from the process-wide generator
    faults = Faults.draw(rng, storm=storm)
    aws = AwsModel(
        sched, REGION, ACCOUNT, faults, initial_override=rng.choice((None, None, None, "rds-ca-rsa4096-g1"))
    )
    cfn = CloudFormation(
        sched,
        REGION,
        ACCOUNT,
        deliver=lambda event, sent_at: lam.deliver(event, sent_at=sent_at),
        snapshot=lambda stack: snapshot(aws, stack),
        duplicate=rng.choice((0.0, 0.1, 0.3)),
        delay=rng.choice((0.0, 0.05, 0.2)),
    )
    lam = LambdaService(
        sched,
        aws,
        REGION,
        timeout=rng.choice(LAMBDA_TIMEOUTS),
        answered=lambda delivery, body: cfn.answered(delivery.request_id, body),
        started=cfn.started,
    )
    checks = Invariants(aws, cfn, START)
    aws.stack_status = cfn.stack_status
    aws.on_write = checks.on_write
    cfn.on_answer = checks.on_answer
    for number in range(1, rng.randint(2, 4) + 1):
        cfn.add_stack(number)
    summary = (
        f"{len(cfn.stacks)} stacks {[s.plan[:] for s in cfn.stacks]}, Lambda timeout {lam.timeout:.0f}s, "
        f"override before {aws.initial_override}, faults {faults}"
    )
    sched.run()
    checks.settled()
    summary += f"; ended {[s.status for s in cfn.stacks]}, override {aws.override}"
    classes = classify(checks.violations, aws, cfn, START)
    return Outcome(
        seed, checks.violations, sched.steps, aws.calls, lam.deliveries, sched.crashes, summary, classes
    )
