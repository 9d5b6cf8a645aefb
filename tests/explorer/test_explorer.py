"""The explorer itself: a schedule replays exactly from its seed, and a sample of schedules runs in the test
suite (`make explore` runs 10,000). On the code before issue 19's fix, every failure in the sample must be
one of the known classes (classes.CLASSES); after it, the regression seeds in test_regressions.py pass."""

from __future__ import annotations

import pytest

from rds_override_local.explorer.classes import CLASSES
from rds_override_local.explorer.world import run_schedule

SAMPLE = range(1000, 1040)


def test_a_schedule_replays_exactly_from_its_seed() -> None:
    first, again = run_schedule(17), run_schedule(17)
    assert first.steps == again.steps
    assert [str(v) for v in first.violations] == [str(v) for v in again.violations]
    assert first.calls > 20, "the schedule ran the function against the model"


def test_different_seeds_make_different_schedules() -> None:
    assert run_schedule(1).steps != run_schedule(2).steps


@pytest.mark.parametrize("seed", SAMPLE)
def test_sample_schedule_breaks_no_invariant_outside_the_known_classes(seed: int) -> None:
    outcome = run_schedule(seed)
    assert not outcome.crashes, outcome.step_log()
    if outcome.violations:
        assert outcome.classes, f"a failure of no known class ({sorted(CLASSES)}):\n{outcome.step_log()}"
