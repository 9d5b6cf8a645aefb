"""The pure side of the declarations ledger (lambda/declarations.py): names, values, choices."""

import json
from datetime import UTC, datetime

import pytest

from rds_override_ledger.declarations import (
    LEGACY_LOCK_NAME,
    LOCK_GENERATION_LIFETIME_SECONDS,
    WITHDRAWAL_LIFETIME_SECONDS,
    AlreadyHeld,
    Declaration,
    Generation,
    Ledger,
    LedgerValueTooLarge,
    LockHolder,
    LockState,
    StackRef,
    TakeLock,
    WaitForLock,
    WriteState,
    conflict_message,
    conflicting,
    decide_lock,
    free_lock_value,
    generations_to_forget,
    held_by_another_delivery,
    lock_name,
    lock_value,
    parameter_name,
    previous_override,
    split_own,
    withdrawals_to_forget,
)

FREE = free_lock_value(0.0)  # a free generation, old enough to be forgotten

STACK_A = "arn:aws:cloudformation:eu-west-1:123456789012:stack/team-a/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
STACK_B = "arn:aws-eusc:cloudformation:eusc-de-east-1:123456789012:stack/team-b/0e1a2b3c-0000-4000"


def declared(
    stack_id: str = STACK_A,
    certificate: str = "rds-ca-rsa4096-g1",
    previous: str | None = None,
    logical_id: str = "Override",
) -> Declaration:
    return Declaration(
        stack_id=stack_id,
        logical_id=logical_id,
        certificate=certificate,
        previous_override=previous,
        restore_previous=False,
        state=WriteState.APPLIED,
        request_id="r-1",
        updated_at="2026-11-28T18:00:00Z",
    )


class TestNames:
    def test_a_declaration_is_named_after_its_stack_and_logical_id(self) -> None:
        assert parameter_name(STACK_A, "Override") == (
            "/rds-certificate-override/declarations/team-a/5b918d10-cd98-11ea-90d5-0a9cd3354c10/Override"
        )

    def test_every_partition_and_region_shape(self) -> None:
        ref = StackRef.parse(STACK_B)
        assert ref is not None
        assert (ref.region, ref.name) == ("eusc-de-east-1", "team-b")

    @pytest.mark.parametrize(
        ("stack_id", "logical_id"), [("not-an-arn", "Override"), (STACK_A, "Over/ride"), (STACK_A, "")]
    )
    def test_anything_else_gets_a_digest_under_the_same_path(self, stack_id: str, logical_id: str) -> None:
        name = parameter_name(stack_id, logical_id)
        assert name.startswith("/rds-certificate-override/declarations/other/")
        assert len(name.rsplit("/", 1)[1]) == 32

    def test_holder_names_the_stack_and_resource(self) -> None:
        assert declared().holder == "stack team-a, resource Override"


class TestValue:
    def test_round_trip(self) -> None:
        original = declared(previous="rds-ca-rsa2048-g1")
        assert Declaration.from_json(original.to_json()) == original

    def test_the_value_people_read(self) -> None:
        assert json.loads(declared().to_json()) == {
            "Version": 1,
            "StackId": STACK_A,
            "LogicalResourceId": "Override",
            "CertificateIdentifier": "rds-ca-rsa4096-g1",
            "PreviousOverride": None,
            "RestorePreviousOnDelete": False,
            "State": "applied",
            "RequestId": "r-1",
            "UpdatedAt": "2026-11-28T18:00:00Z",
            "RequestSentAt": None,
        }

    def test_a_value_fits_a_standard_parameter(self) -> None:
        long = declared(stack_id=STACK_A.replace("team-a", "s" * 128), logical_id="L" * 255)
        assert len(long.to_json().encode()) < 4096

    def test_a_value_too_large_for_a_standard_parameter_is_refused_before_any_write(self) -> None:
        huge = declared(logical_id="L" * 5000)
        with pytest.raises(LedgerValueTooLarge, match="more than the 4096 bytes"):
            huge.to_json()

    @pytest.mark.parametrize(
        "text",
        [
            "not json",
            "[]",
            '{"Version": 2}',
            '{"Version": true}',  # True == 1 in Python: a boolean is not the version
            '{"Version": "1"}',
            '{"Version": 1}',
            '{"Version": 1, "StackId": "x", "State": "odd"}',
        ],
    )
    def test_a_value_this_version_cannot_read_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            Declaration.from_json(text)

    @pytest.mark.parametrize("version", [2, 0, True, "1", 1.0, None])
    def test_a_complete_value_of_another_version_is_refused(self, version: object) -> None:
        raw = {**json.loads(declared().to_json()), "Version": version}
        with pytest.raises(ValueError, match="Version"):
            Declaration.from_json(json.dumps(raw))

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("CertificateIdentifier", ["rds-ca-rsa4096-g1"]),
            ("StackId", 7),
            ("State", "confirmed"),
            ("RestorePreviousOnDelete", "true"),
            ("PreviousOverride", {"a": 1}),
        ],
    )
    def test_a_field_of_another_type_is_refused(self, field: str, value: object) -> None:
        raw = json.loads(declared().to_json())
        with pytest.raises(ValueError, match=field):
            Declaration.from_json(json.dumps({**raw, field: value}))

    def test_the_same_declaration_ignores_request_and_time(self) -> None:
        one = declared()
        assert one.same_declaration(Declaration(**{**vars(one), "request_id": "r-2", "updated_at": "later"}))
        assert not one.same_declaration(declared(certificate="rds-ca-ecc384-g1"))
        assert not one.same_declaration(Declaration(**{**vars(one), "restore_previous": True}))
        assert not one.same_declaration(Declaration(**{**vars(one), "state": WriteState.PENDING}))
        assert not one.same_declaration(Declaration(**{**vars(one), "previous_override": "x"}))


def ledger_of(*entries: tuple[str, str]) -> Ledger:
    return Ledger.parse(entries)


class TestLedger:
    def test_a_reading_sorts_declarations_unreadable_entries_and_the_lock(self) -> None:
        good, other = declared(), declared(stack_id=STACK_B)
        broken = parameter_name(STACK_B, "Broken")
        ledger = ledger_of(
            (good.name, good.to_json()),
            (other.name, other.to_json()),
            (broken, '{"Version": 2}'),
            (lock_name(3), FREE),
            (LEGACY_LOCK_NAME, "{}"),
        )
        assert ledger.declarations == (good, other)
        assert [u.name for u in ledger.unreadable] == [broken]
        assert ledger.lock == LockState({3: FREE}, "{}")

    def test_an_entry_under_another_resources_name_is_unreadable(self) -> None:
        moved = declared()
        ledger = ledger_of((parameter_name(STACK_B, "Override"), moved.to_json()))
        assert ledger.declarations == ()
        assert "names another resource" in ledger.unreadable[0].error

    def test_the_repair_hint_names_the_parameter_and_the_way_out(self) -> None:
        broken = parameter_name(STACK_B, "Broken")
        hint = ledger_of((broken, "{")).unreadable[0].repair_hint()
        assert broken in hint
        assert f"aws ssm delete-parameter --name {broken}" in hint


class TestDecisions:
    def test_split_own(self) -> None:
        mine, theirs = declared(), declared(stack_id=STACK_B)
        broken = parameter_name(STACK_B, "Broken")
        view = split_own(
            ledger_of(*((d.name, d.to_json()) for d in (theirs, mine)), (broken, "{")), STACK_A, "Override"
        )
        assert (view.own, view.others) == (mine, [theirs])
        assert view.own_unreadable is None
        assert [u.name for u in view.others_unreadable] == [broken]
        view = split_own(ledger_of((theirs.name, theirs.to_json())), STACK_A, "Override")
        assert (view.own, view.others) == (None, [theirs])

    def test_a_withdrawn_entry_is_nobodys_declaration(self) -> None:
        withdrawn = Declaration(**{**vars(declared(stack_id=STACK_B)), "state": WriteState.WITHDRAWN})
        mine = Declaration(**{**vars(declared()), "state": WriteState.WITHDRAWN})
        view = split_own(
            ledger_of((withdrawn.name, withdrawn.to_json()), (mine.name, mine.to_json())), STACK_A, "Override"
        )
        assert view.others == []
        assert view.own == mine

    def test_only_another_ca_conflicts(self) -> None:
        same, other = declared(), declared(stack_id=STACK_B, certificate="rds-ca-ecc384-g1")
        assert conflicting([same, other], "rds-ca-rsa4096-g1") == [other]

    def test_the_conflict_message_names_the_holder_and_the_way_out(self) -> None:
        message = conflict_message("eu-west-1", "rds-ca-ecc384-g1", declared())
        assert "stack team-a, resource Override declares for eu-west-1" in message
        assert "Nothing was changed" in message
        assert "change or delete that declaration" in message

    def test_what_stood_before_is_recorded_once_and_carried_along(self) -> None:
        own = declared(previous="own-previous")
        other = declared(stack_id=STACK_B, previous="first-previous")
        kwargs = {"legacy_previous": "legacy", "live_other": other, "standing": "standing"}
        assert previous_override(own=own, **kwargs) == "own-previous"  # type: ignore[arg-type]
        assert previous_override(own=None, **kwargs) == "legacy"  # type: ignore[arg-type]
        assert (
            previous_override(own=None, legacy_previous=None, live_other=other, standing="s")
            == "first-previous"
        )
        assert previous_override(own=None, legacy_previous=None, live_other=None, standing="s") == "s"

    def test_a_withdrawn_own_entry_carries_nothing(self) -> None:
        withdrawn = Declaration(**{**vars(declared(previous="old")), "state": WriteState.WITHDRAWN})
        assert previous_override(own=withdrawn, legacy_previous=None, live_other=None, standing="s") == "s"


ME = LockHolder(STACK_A, "Override", "request-me", "invocation-me")
THEM = LockHolder(STACK_B, "Override", "request-them", "invocation-them")


def held(holder: LockHolder = THEM, expires_at: float = 200.0, created_at: float = 0.0) -> str:
    return lock_value(holder, expires_at, created_at)


class TestLockDecisions:
    def test_a_region_without_a_lock_takes_the_first_generation(self) -> None:
        assert decide_lock(LockState({}), ME, now=100.0) == TakeLock(1, "free")

    def test_the_highest_generation_is_the_lock(self) -> None:
        decision = decide_lock(LockState({1: held()}), ME, now=100.0)
        assert isinstance(decision, WaitForLock)
        assert "stack team-b, resource Override, request request-them" in decision.reason
        assert isinstance(decide_lock(LockState({4: FREE, 5: held()}), ME, now=100.0), WaitForLock)
        assert isinstance(decide_lock(LockState({5: held(), 9: held()}), ME, now=100.0), WaitForLock)

    def test_a_free_generation_on_top_frees_it_whatever_lies_below(self) -> None:
        assert decide_lock(LockState({1: held(), 2: FREE}), ME, now=100.0) == TakeLock(3, "free")
        assert decide_lock(LockState({7: FREE}), ME, now=100.0) == TakeLock(8, "free")

    def test_a_lease_that_ended_is_taken_over_by_the_next_generation(self) -> None:
        decision = decide_lock(LockState({4: FREE, 5: held(expires_at=100.0)}), ME, now=100.0)
        assert isinstance(decision, TakeLock)
        assert decision.generation == 6
        assert "its lease ended" in decision.reason
        assert isinstance(decide_lock(LockState({4: FREE, 5: held(expires_at=100.0)}), ME, 99.9), WaitForLock)

    @pytest.mark.parametrize("value", ["", "{}", "[]", '{"ExpiresAt": "soon"}', '{"StackId": 1}'])
    def test_an_unreadable_lock_is_over(self, value: str) -> None:
        generation = Generation.parse(value)
        assert (generation.free, generation.holder, generation.expires_at) == (False, None, 0.0)
        assert isinstance(decide_lock(LockState({1: value}), ME, now=0.0), TakeLock)

    def test_this_invocations_own_lease_on_top_is_held_already(self) -> None:
        """Its take was stored but the answer lost: the SDK's retry answered ParameterAlreadyExists."""
        assert decide_lock(LockState({4: FREE, 5: held(ME)}), ME, now=100.0) == AlreadyHeld(5)

    def test_this_resources_earlier_request_is_waited_for_until_its_lease_ends(self) -> None:
        """It may still be running (CloudFormation may have its answer from another delivery)."""
        earlier = LockHolder(ME.stack_id, ME.logical_id, "request-earlier", "invocation-earlier")
        assert isinstance(decide_lock(LockState({4: FREE, 5: held(earlier)}), ME, now=100.0), WaitForLock)
        assert decide_lock(LockState({4: FREE, 5: held(earlier)}), ME, now=200.0) == TakeLock(
            6, "taking over from stack team-a, resource Override, request request-earlier: its lease ended"
        )

    def test_another_delivery_of_the_same_request_waits_for_the_first(self) -> None:
        other_delivery = LockHolder(ME.stack_id, ME.logical_id, ME.request_id, "invocation-other")
        assert isinstance(decide_lock(LockState({5: held(other_delivery)}), ME, now=100.0), WaitForLock)

    def test_the_lock_of_an_earlier_release_is_respected_while_its_lease_runs(self) -> None:
        legacy = json.dumps({"RequestId": "old", "ExpiresAt": 200.0})
        assert isinstance(decide_lock(LockState({}, legacy), ME, now=100.0), WaitForLock)
        assert decide_lock(LockState({}, legacy), ME, now=200.0) == TakeLock(1, "free")


class TestAnotherDelivery:
    def test_a_generation_of_another_delivery_of_the_same_request_is_seen_held_or_freed(self) -> None:
        other_delivery = LockHolder(ME.stack_id, ME.logical_id, ME.request_id, "invocation-other")
        assert held_by_another_delivery(LockState({4: held(other_delivery), 5: FREE}), ME)
        assert held_by_another_delivery(LockState({5: held(other_delivery)}), ME)

    def test_its_own_lease_another_request_or_a_free_lock_are_not(self) -> None:
        assert not held_by_another_delivery(LockState({5: held(ME)}), ME)
        assert not held_by_another_delivery(LockState({4: held(THEM), 5: FREE}), ME)
        earlier = LockHolder(ME.stack_id, ME.logical_id, "request-earlier", "invocation-earlier")
        assert not held_by_another_delivery(LockState({4: held(earlier), 5: FREE}), ME)


class TestForgetting:
    def test_generations_are_forgotten_once_no_invocation_can_still_try_to_create_them(self) -> None:
        old = LOCK_GENERATION_LIFETIME_SECONDS
        state = LockState({1: held(created_at=0.0), 2: free_lock_value(1.0), 3: held(created_at=50.0)})
        assert generations_to_forget(state, now=old - 1.0) == ()
        assert generations_to_forget(state, now=old + 1.0) == (1, 2)
        assert generations_to_forget(state, now=old + 1000.0) == (1, 2), "never the highest"
        assert LOCK_GENERATION_LIFETIME_SECONDS == 900.0 + 60.0, "Lambda's longest timeout and a margin"

    def test_withdrawals_are_forgotten_once_no_delivery_of_their_create_can_act(self) -> None:
        withdrawn = Declaration(
            **{**vars(declared()), "state": WriteState.WITHDRAWN, "updated_at": "2026-01-01T00:00:00Z"}
        )
        at = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
        assert withdrawals_to_forget([withdrawn, declared()], at + WITHDRAWAL_LIFETIME_SECONDS - 1) == ()
        assert withdrawals_to_forget([withdrawn, declared()], at + WITHDRAWAL_LIFETIME_SECONDS) == (
            withdrawn.name,
        )
        assert WITHDRAWAL_LIFETIME_SECONDS == 3600.0 + 900.0 + 60.0, "CloudFormation's wait, Lambda's, margin"

    def test_the_lease_value(self) -> None:
        assert json.loads(lock_value(ME, 123.4567, 0.0)) == {
            "StackId": STACK_A,
            "LogicalResourceId": "Override",
            "RequestId": "request-me",
            "InvocationId": "invocation-me",
            "ExpiresAt": 123.457,
            "CreatedAt": 0.0,
        }
