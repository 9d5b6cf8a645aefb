"""Schedules the explorer found breaking an invariant, one per class of issue 19, named after it.

Each failed on the code before issue 19's fix. One still fails, for the reason its mark gives
(docs/explorer.md); its strict mark fails the day it passes. Replay one:
`make explore ARGS="--seed N"` (`--storm` for those found under `storm=True`). A seed names a whole
schedule: once the protocol's calls change, the same seed plays a different interleaving, so these guard
against regressions, and `make explore` looks for new ones.
"""

from __future__ import annotations

import pytest

from rds_override_local.explorer.classes import CLASSES
from rds_override_local.explorer.world import run_schedule


def _open(number: int, why: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"issue 19, class {number} ({CLASSES[number]}): {why}")


def _holds(seed: int, *, storm: bool = False) -> None:
    outcome = run_schedule(seed, storm=storm)
    assert not outcome.crashes, outcome.step_log()
    assert not outcome.violations, outcome.step_log()


def test_class1_a_lost_lock_answer_makes_the_taker_wait_for_itself_and_a_rollback_fail() -> None:
    # s3's Create: its lock put is stored, its answer lost; the retry's ParameterAlreadyExists reads as
    # "busy": it waits for itself for 220 s and fails naming itself; its lease blocks the region, and s1's
    # rollback Update fails: UPDATE_ROLLBACK_FAILED.
    _holds(23)


def test_class1_a_lost_declaration_answer_makes_a_create_call_itself_obsolete() -> None:
    # The Create's create-only first declaration is stored, its answer lost; the retry's
    # ParameterAlreadyExists reads as "deleted while this Create waited": FAILED, the entry left behind.
    _holds(34)


def test_class3_a_create_that_never_held_the_lock_leaves_a_rollback_that_waits_and_fails() -> None:
    _holds(3)


def test_class4_a_create_writes_after_cloudformation_stopped_waiting() -> None:
    _holds(693)


def test_class5_a_late_update_writes_after_the_same_resources_rollback() -> None:
    _holds(180)


@_open(6, "under --storm a write's attempts stall past the SDK's timeouts the fence counts on")
def test_class6_the_create_writes_applied_after_the_timer_answered_failed() -> None:
    # Found under --storm: the RDS write's retries outlast the 55 s the function kept for a write phase of
    # three calls; the timer answers FAILED; the declaration's `applied` lands after it, and the rollback
    # Delete, waiting for the lock, fails: a live declaration of a resource that does not exist.
    _holds(296, storm=True)


def test_class7_withdrawals_of_deleted_stacks_stay_in_the_ledger() -> None:
    _holds(9)


def test_class8_a_repeated_delivery_of_a_rollback_delete_writes_after_its_answer() -> None:
    _holds(1)
