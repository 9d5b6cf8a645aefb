"""The region lock (lambda/ledger.py `RegionLock`) on moto's SSM, with a clock the test drives.

No sleeps: the clock's `sleep` moves its time on. Interleavings are driven step by step (a read, then a
take), and a Hypothesis state machine tries many: whatever the order, one holder at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from moto import mock_aws

import ledger
from handler_support import lock_generations
from rds_override_ledger.declarations import (
    AlreadyHeld,
    Declaration,
    LockHolder,
    LockState,
    TakeLock,
    WaitForLock,
    WriteState,
    decide_lock,
    free_lock_value,
    lock_name,
)

FREE = free_lock_value(0.0)  # a free generation, old enough to be forgotten

REGION = "ap-northeast-3"  # a region no other test of this process uses
T0 = 2_000_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        assert self.now - T0 < 3600 and len(self.slept) < 10_000, "a wait without end: no budget is kept"


def holder(name: str, request: str = "r-1") -> LockHolder:
    return LockHolder(
        f"arn:aws:cloudformation:{REGION}:123456789012:stack/{name}/uuid-{name}", "Override", request
    )


def region_lock(
    who: LockHolder, clock: FakeClock, *, time_left: float = 100.0, budget: float | None = None
) -> ledger.RegionLock:
    return ledger.RegionLock(
        REGION,
        who,
        deadline=clock.time() + time_left,
        give_up_at=clock.time() + (time_left - 60.0 if budget is None else budget),
        lease_margin=15.0,
        clock=clock,
    )


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


def held_by(ssm: Any) -> str | None:
    """Who a newcomer would wait for, or None when it would take the lock."""
    decision = decide_lock(LockState(lock_generations(ssm)), holder("newcomer"), T0)
    return decision.reason if isinstance(decision, WaitForLock) else None


class TestOneHolder:
    def test_the_first_holder_takes_generation_one_and_frees_it_with_the_next(self, ssm: Any) -> None:
        lock = region_lock(holder("a"), FakeClock())
        lock.acquire()
        assert lock.generation == 1
        assert "stack a" in str(held_by(ssm))
        lock.release()
        assert held_by(ssm) is None
        assert list(lock_generations(ssm)) == [1, 2]
        assert json.loads(lock_generations(ssm)[2]) == {"Free": True, "CreatedAt": T0}

    def test_a_later_holder_takes_the_next_generation_and_deletes_nothing_young(self, ssm: Any) -> None:
        ssm.put_parameter(Name=lock_name(7), Value=free_lock_value(T0 - 10), Type="String")
        lock = region_lock(holder("a"), FakeClock())
        lock.acquire()
        assert lock.generation == 8
        lock.release()
        assert sorted(lock_generations(ssm)) == [7, 8, 9]
        assert held_by(ssm) is None

    def test_two_takers_of_an_expired_lock_one_wins(self, ssm: Any) -> None:
        """A reads, B reads, A takes, B takes: the next generation is create-only, so B's take fails."""
        clock = FakeClock()
        dead = region_lock(holder("dead"), clock, time_left=10.0)
        dead.acquire()  # and never releases: Lambda stopped it
        clock.now += 10.0 + 15.0  # its deadline and the lease margin have passed
        a, b = region_lock(holder("a"), clock), region_lock(holder("b"), clock)
        seen_by_a, seen_by_b = ledger.read_lock(REGION), ledger.read_lock(REGION)
        decided_by_a = decide_lock(seen_by_a, a.holder, clock.time())
        decided_by_b = decide_lock(seen_by_b, b.holder, clock.time())
        assert isinstance(decided_by_a, TakeLock) and isinstance(decided_by_b, TakeLock)
        assert decided_by_a.generation == decided_by_b.generation == 2
        ssm_client = ledger._ssm(REGION)
        assert a._take(ssm_client, decided_by_a, seen_by_a) is True
        assert b._take(ssm_client, decided_by_b, seen_by_b) is False, "only one taker creates it"
        assert "stack a" in str(held_by(ssm))
        with pytest.raises(ledger.RegionBusy):
            region_lock(holder("b"), clock, budget=0.0).acquire()

    def test_a_holder_that_was_taken_over_cannot_free_the_new_holders_lock(self, ssm: Any) -> None:
        clock = FakeClock()
        ssm.put_parameter(Name=lock_name(4), Value=FREE, Type="String")
        zombie = region_lock(holder("zombie"), clock, time_left=10.0)
        zombie.acquire()
        clock.now += 30.0
        taker = region_lock(holder("taker"), clock)
        taker.acquire()
        assert (zombie.generation, taker.generation) == (5, 6)
        zombie.release()  # would create generation 6, free: it exists, so nothing changes
        assert "stack taker" in str(held_by(ssm)), "the taker still holds the lock"
        taker.release()
        assert held_by(ssm) is None

    def test_a_take_whose_answer_was_lost_finds_its_own_lease_on_top(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The SDK retried a create-only put that SSM had stored: ParameterAlreadyExists for its own write.
        It is not another holder: the lease's value names this invocation."""
        client = ledger._ssm(REGION)
        put = client.put_parameter
        lost = iter([True])

        def put_parameter(**kwargs: Any) -> Any:
            put(**kwargs)
            if next(lost, False):
                raise ClientError(
                    {"Error": {"Code": "ParameterAlreadyExists", "Message": "x"}}, "PutParameter"
                )

        monkeypatch.setattr(client, "put_parameter", put_parameter)
        clock = FakeClock()
        lock = region_lock(holder("a"), clock)
        lock.acquire()
        assert lock.generation == 1
        assert len(clock.slept) == 1, "one pause, then the read shows its own lease"
        lock.release()
        assert held_by(ssm) is None

    def test_a_stalled_take_cannot_create_a_generation_again_once_others_used_it(self, ssm: Any) -> None:
        """A reads generation 1 free and stalls; B and C take and free the lock; A's take is retried. The
        generation A asked for still exists (none is deleted while anyone who read before it can run)."""
        clock = FakeClock()
        ssm.put_parameter(Name=lock_name(1), Value=free_lock_value(T0), Type="String")
        stalled = region_lock(holder("stalled"), clock)
        seen = ledger.read_lock(REGION)
        decided = decide_lock(seen, stalled.holder, clock.time())
        for other in ("b", "c"):
            lock = region_lock(holder(other), clock)
            lock.acquire()
            lock.release()
        clock.now += 100.0
        assert isinstance(decided, TakeLock) and decided.generation == 2
        assert stalled._take(ledger._ssm(REGION), decided, seen) is False
        assert held_by(ssm) is None

    def test_old_generations_are_deleted_in_a_batch_the_highest_never(self, ssm: Any) -> None:
        for generation in range(1, 6):
            ssm.put_parameter(Name=lock_name(generation), Value=free_lock_value(T0 - 961), Type="String")
        lock = region_lock(holder("a"), FakeClock())
        lock.acquire()
        lock.release()
        assert sorted(lock_generations(ssm)) == [6, 7], (
            "the five old ones go; its lease and the free one stay"
        )


class TestWaiting:
    def test_a_held_lock_is_waited_for_until_the_budget_then_busy(self, ssm: Any) -> None:
        clock = FakeClock()
        region_lock(holder("holder"), clock, time_left=900.0).acquire()
        waiter = region_lock(holder("waiter", request="r-2"), clock, time_left=100.0)
        with pytest.raises(ledger.RegionBusy) as busy:
            waiter.acquire()
        assert not isinstance(busy.value, ledger.AnotherDeliveryHolds)
        waited = clock.now - T0
        # The budget (time left less 60 s for the work) is used, never exceeded by a pause.
        assert 40.0 - ledger.LOCK_LONGEST_PAUSE_SECONDS * 1.5 < waited <= 40.0
        assert "stack holder, resource Override, request r-1" in str(busy.value)
        assert "Nothing was changed" in str(busy.value)
        assert waiter.generation is None

    def test_a_delivery_waiting_for_another_delivery_of_its_request_leaves_it_the_answer(
        self, ssm: Any
    ) -> None:
        """Two deliveries of one request: the one that gives up must not answer FAILED (nothing changed)
        while the other writes. It says so, and the handler sends no answer."""
        clock = FakeClock()
        first = LockHolder(holder("a").stack_id, "Override", "r-1", "invocation-1")
        second = LockHolder(holder("a").stack_id, "Override", "r-1", "invocation-2")
        region_lock(first, clock, time_left=900.0).acquire()
        with pytest.raises(ledger.AnotherDeliveryHolds):
            region_lock(second, clock, time_left=100.0).acquire()

    def test_a_take_lost_at_the_end_of_the_budget_is_told_apart_by_a_last_read(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The take is refused when the budget has run out: one more read says who took it."""
        first = LockHolder(holder("a").stack_id, "Override", "r-1", "invocation-1")
        second = LockHolder(holder("a").stack_id, "Override", "r-1", "invocation-2")
        clock = FakeClock()
        late = region_lock(second, clock, budget=0.0)
        take = late._take

        def first_takes_it_a_moment_before(ssm_client: Any, decision: Any, state: Any) -> bool:
            region_lock(first, clock, time_left=900.0).acquire()
            return take(ssm_client, decision, state)

        monkeypatch.setattr(late, "_take", first_takes_it_a_moment_before)
        with pytest.raises(ledger.AnotherDeliveryHolds):
            late.acquire()

    def test_pauses_grow_from_the_first_to_the_longest(self, ssm: Any) -> None:
        clock = FakeClock()
        region_lock(holder("holder"), clock, time_left=900.0).acquire()
        with pytest.raises(ledger.RegionBusy):
            region_lock(holder("waiter"), clock, time_left=100.0).acquire()
        assert (
            ledger.LOCK_FIRST_PAUSE_SECONDS * 0.5 <= clock.slept[0] <= ledger.LOCK_FIRST_PAUSE_SECONDS * 1.5
        )
        assert max(clock.slept) <= ledger.LOCK_LONGEST_PAUSE_SECONDS * 1.5
        assert max(clock.slept) >= ledger.LOCK_LONGEST_PAUSE_SECONDS * 0.5

    def test_a_dead_holders_lock_is_taken_over_when_its_lease_ends(self, ssm: Any) -> None:
        clock = FakeClock()
        region_lock(holder("dead"), clock, time_left=20.0).acquire()  # lease: T0 + 20 + 15
        waiter = region_lock(holder("waiter"), clock, time_left=100.0)
        waiter.acquire()
        assert T0 + 35.0 <= clock.now <= T0 + 35.0 + ledger.LOCK_LONGEST_PAUSE_SECONDS * 1.5
        assert waiter.generation == 2

    def test_the_lease_is_stamped_when_taken_from_the_deadline_not_from_the_wait(self, ssm: Any) -> None:
        clock = FakeClock()
        region_lock(holder("holder"), clock, time_left=15.0).acquire()  # lease ends at T0 + 30
        waiter = region_lock(holder("waiter"), clock, time_left=100.0)  # deadline T0 + 100
        waiter.acquire()
        assert clock.now >= T0 + 30.0, "it waited"
        value = json.loads(lock_generations(ssm)[waiter.generation or 0])
        assert value["ExpiresAt"] == T0 + 100.0 + 15.0

    def test_too_many_updates_on_the_lock_means_busy_wait_and_try_again(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client = ledger._ssm(REGION)
        put = client.put_parameter
        answers = iter(["TooManyUpdates"])

        def put_parameter(**kwargs: Any) -> Any:
            if (code := next(answers, None)) is not None:
                raise ClientError({"Error": {"Code": code, "Message": "busy"}}, "PutParameter")
            return put(**kwargs)

        monkeypatch.setattr(client, "put_parameter", put_parameter)
        clock = FakeClock()
        lock = region_lock(holder("a"), clock)
        lock.acquire()
        assert lock.generation == 1
        assert len(clock.slept) == 1

    def test_another_error_on_the_lock_is_raised(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        client = ledger._ssm(REGION)

        def put_parameter(**_kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutParameter")

        monkeypatch.setattr(client, "put_parameter", put_parameter)
        with pytest.raises(ClientError):
            region_lock(holder("a"), FakeClock()).acquire()

    def test_a_release_that_fails_is_logged_and_the_same_resources_next_request_waits_for_the_lease(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = ledger._ssm(REGION)
        put = client.put_parameter
        clock = FakeClock()

        def put_parameter(**kwargs: Any) -> Any:
            if kwargs["Name"] == lock_name(2) and clock.now < T0 + 20.0:  # throttled while it runs
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutParameter"
                )
            return put(**kwargs)

        monkeypatch.setattr(client, "put_parameter", put_parameter)
        lock = region_lock(holder("a"), clock, time_left=20.0)
        lock.acquire()
        lock.release()  # does not raise
        assert "could not be released" in caplog.text
        assert T0 + 20.0 - 2.5 < clock.now <= T0 + 20.0 - ledger.RELEASE_KEEPS_SECONDS, "it kept trying"
        assert "stack a" in str(held_by(ssm))
        same_resource_later = region_lock(holder("a", request="r-2"), clock)
        same_resource_later.acquire()
        assert clock.now >= T0 + 20.0 + 15.0, "it waited for the lease: the earlier request may still run"


ACTORS = ("a", "b", "c")


class OneHolderAtATime(RuleBasedStateMachine):
    """Actors read, take, release, and are stopped by Lambda at their deadline, in any order. A taker acts
    on what it read, however stale. Whatever the order, no two running actors hold the lock."""

    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        self.clock = FakeClock()
        self.requests = 0
        self.locks: dict[str, ledger.RegionLock] = {}
        self.seen: dict[str, Any] = {}
        self.holding: set[str] = set()

    def teardown(self) -> None:
        self.mock.stop()

    @rule(actor=st.sampled_from(ACTORS), time_left=st.sampled_from([5.0, 30.0, 120.0]))
    def read(self, actor: str, time_left: float) -> None:
        """An actor (a new invocation, if it has none running) reads the ledger and decides."""
        if actor not in self.locks:
            self.requests += 1
            self.locks[actor] = region_lock(
                holder(actor, f"r-{self.requests}"), self.clock, time_left=time_left
            )
        if actor not in self.holding:
            state = ledger.read_lock(REGION)
            self.seen[actor] = (decide_lock(state, self.locks[actor].holder, self.clock.time()), state)

    @rule(actor=st.sampled_from(ACTORS))
    def take(self, actor: str) -> None:
        decision, state = self.seen.pop(actor, (None, None))
        if isinstance(decision, AlreadyHeld) or (
            isinstance(decision, TakeLock) and self.locks[actor]._take(ledger._ssm(REGION), decision, state)
        ):
            self.holding.add(actor)

    @rule(actor=st.sampled_from(ACTORS))
    def release(self, actor: str) -> None:
        if actor in self.holding:
            self.locks[actor].release()
            self.holding.discard(actor)
            del self.locks[actor]

    @rule(seconds=st.sampled_from([1.0, 10.0, 40.0]))
    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        for actor, lock in list(self.locks.items()):
            if self.clock.now >= lock.deadline + 5.0:  # Lambda stops it: it never releases
                self.locks.pop(actor)
                self.holding.discard(actor)
                self.seen.pop(actor, None)

    @invariant()
    def at_most_one_running_holder(self) -> None:
        assert len(self.holding) <= 1, self.holding


# Derandomized: the same interleavings on every run; no deadline or speed checks on a loaded machine.
OneHolderAtATime.TestCase.settings = hypothesis_settings(
    max_examples=150,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
TestOneHolderAtATime = OneHolderAtATime.TestCase


class TestLedgerCalls:
    def test_forgetting_an_entry_already_gone_is_not_an_error(self, ssm: Any) -> None:
        ledger.forget(REGION, "/rds-certificate-override/declarations/gone/uuid/Override")

    def test_an_entry_is_a_free_standard_parameter(self, ssm: Any) -> None:
        declaration = Declaration(
            holder("a").stack_id, "Override", "rds-ca-rsa4096-g1", None, False, WriteState.APPLIED, "r", "t"
        )
        ledger.record(REGION, declaration)
        (parameter,) = ssm.describe_parameters()["Parameters"]
        assert (parameter["Type"], parameter["Tier"]) == ("String", "Standard")

    def test_a_stack_id_that_is_not_a_stack_arn_is_kept(self, ssm: Any) -> None:
        assert ledger.stack_gone("not-a-stack-arn") is False

    def test_another_validation_error_is_not_a_gone_stack(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client = ledger.aws_sdk.client("cloudformation", REGION)

        def describe_stacks(**_kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": "1 validation error detected"}},
                "DescribeStacks",
            )

        monkeypatch.setattr(client, "describe_stacks", describe_stacks)
        with pytest.raises(ledger.StackRegionError) as error:
            ledger.stack_gone(holder("a").stack_id)
        assert f"in its region {REGION} answered ValidationError (1 validation error detected)" in str(
            error.value
        )


class TestLockReasons:
    def test_an_earlier_releases_lock_is_named(self) -> None:
        legacy = json.dumps({"RequestId": "old", "ExpiresAt": T0 + 1})
        decision = decide_lock(LockState({}, legacy), holder("a"), T0)
        assert isinstance(decision, WaitForLock)
        assert decision.reason.startswith("held by an earlier release of this function")

    def test_an_unreadable_lock_of_an_earlier_release_is_over(self) -> None:
        assert isinstance(decide_lock(LockState({}, "{"), holder("a"), 0.5), TakeLock)
