"""Schedules the explorer found breaking an invariant, one per class of issue 19, named after it.

Each failed on the code before issue 19's fix. All pass on the fixed code. Replay one:
`make explore ARGS="--seed N"` (`--storm` for those found under `storm=True`). A seed names a whole
schedule: once the protocol's calls change, the same seed plays a different interleaving, so these guard
against regressions, and `make explore` looks for new ones.
"""

from __future__ import annotations

from rds_override_local.explorer.world import run_schedule


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


def test_class6_the_create_writes_applied_after_the_timer_answered_failed() -> None:
    # Found under --storm: the RDS write's retries outlast the 55 s the function kept for a write phase of
    # three calls; the timer answers FAILED; the declaration's `applied` lands after it, and the rollback
    # Delete, waiting for the lock, fails: a live declaration of a resource that does not exist.
    _holds(296, storm=True)


def test_class7_withdrawals_of_deleted_stacks_stay_in_the_ledger() -> None:
    _holds(9)


def test_class8_a_repeated_delivery_of_a_rollback_delete_writes_after_its_answer() -> None:
    _holds(1)


def test_a_delivery_that_gave_up_while_another_delivery_of_its_request_wrote_does_not_answer() -> None:
    # Found on the fixed code: a duplicate Create gave up waiting while the other delivery of its request
    # held the lock and wrote; the lock had passed to another stack by the time it gave up, and it answered
    # FAILED "nothing changed". It now reads its entry first, finds its own request, and leaves the answer.
    _holds(1763)


def test_a_late_delivery_of_a_failed_update_after_its_rollback_changes_nothing() -> None:
    # Found on the fixed code: the rollback Update changed nothing (the CA it restores stood already), so
    # the declaration kept the Create's stamp; the failed Update's late delivery then wrote its CA. A newer
    # request now stamps the declaration even when nothing else changes.
    _holds(2286)


def test_a_second_delivery_after_the_first_decided_and_answered_changes_nothing() -> None:
    # Found on the fixed code: two deliveries of one Update, one after the other; the first found a
    # conflict and answered FAILED; the conflict was gone when the second held the lock, and it wrote. A
    # delivery now sees, in the lock's generations, that another delivery of its request held the lock,
    # and leaves the answer to it.
    _holds(24)
