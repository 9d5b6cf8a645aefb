"""The lock and the ledger under faults, as CloudFormation and Lambda deliver them (docs/reliability.md).

A refusing region, a late or repeated event, a release SSM throttles, a busy or dead holder, a hand-edited
ledger entry: none may leave a stack unable to roll back, or let a change through that a live declaration
forbids. In-process on the emulator, with the function's clock under the test's control (no sleeps).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.core.exceptions import JsonRESTError
from moto.ssm.models import SimpleSystemManagerBackend

import aws_sdk
import cfn_resource
import index
import ledger
import protocol
from handler_support import (
    ACCOUNT,
    OTHER_REGION,
    REGION,
    V1,
    V2,
    CloudFormation,
    create_stack,
    declaration_name,
    delete_stack,
    entries,
    for_stack,
    lock_generations,
    lock_is_free,
    override,
    rds_calls,
    records,
    withdrawals,
)
from handler_support import (
    ledger as declarations_of,
)
from rds_override_ledger import declarations
from rds_override_ledger.declarations import (
    LockHolder,
    free_lock_value,
    lock_name,
    lock_value,
    parameter_name,
)
from rds_override_local import rds_emulator as emulator
from rds_override_local import settings

FREE = free_lock_value(0.0)  # a free generation, old enough to be forgotten

RSA4096 = V1["CertificateIdentifier"]
ECC384 = V2["CertificateIdentifier"]
RSA2048 = "rds-ca-rsa2048-g1"
SSM_ACTIONS = ("get_parameters_by_path", "put_parameter", "delete_parameter", "delete_parameters")


class FakeClock:
    """The function's wall clock, stopped at the test's start: only the test and sleeps move it on."""

    def __init__(self) -> None:
        self.start = time.time()
        self.offset = 0.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.start + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds
        assert self.offset < 3600 and len(self.slept) < 10_000, "a wait without end: no budget is kept"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(index, "clock", fake)
    return fake


def signed_at(event: dict[str, Any]) -> float:
    """When the event's presigned ResponseURL was signed (its X-Amz-Date, to the second)."""
    amz_date = parse_qs(urlsplit(event["ResponseURL"]).query)["X-Amz-Date"][0]
    return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def refuse_ssm(
    monkeypatch: pytest.MonkeyPatch, region: str, code: str, actions: tuple[str, ...] = SSM_ACTIONS
) -> list[str]:
    """Make moto's SSM in `region` answer `code` to `actions`; returns the list of refused calls."""
    refused: list[str] = []
    for action in actions:
        original: Callable[..., Any] = getattr(SimpleSystemManagerBackend, action)

        def refusing(
            self: Any, *args: Any, _original: Any = original, _action: str = action, **kwargs: Any
        ) -> Any:
            if self.region_name == region:
                refused.append(_action)
                raise JsonRESTError(code, f"{code} for {_action}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerBackend, action, refusing)
    return refused


def refuse_rds(region: str, code: str, status: int = 400) -> None:
    for action in ("DescribeCertificates", "ModifyCertificates"):
        emulator.inject_fault(action, code=code, status=status, count=None, region=region)


def ssm(region: str = REGION) -> Any:
    return boto3.client("ssm", region_name=region)


def hold_lock(region: str, holder: LockHolder, expires_at: float, generation: int = 2) -> None:
    """Another invocation holds the region's lock (a generation above a free one)."""
    ssm(region).put_parameter(Name=lock_name(generation - 1), Value=FREE, Type="String")
    ssm(region).put_parameter(
        Name=lock_name(generation), Value=lock_value(holder, expires_at, 0.0), Type="String"
    )


def answer_of(cfn: CloudFormation, event: dict[str, Any]) -> dict[str, Any]:
    index.helper._answers.clear()  # a cold instance: no memory of earlier answers
    return cfn.deliver(event).answer


class TestARefusingRegion:
    """An opt-in region not enabled, or a region-deny SCP: a Create there fails; its rollback succeeds."""

    @pytest.mark.parametrize("code", ["UnrecognizedClientException", "AccessDeniedException"])
    def test_a_create_fails_and_its_rollback_delete_succeeds_at_once(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch, code: str
    ) -> None:
        refused = refuse_ssm(monkeypatch, OTHER_REGION, code)
        refuse_rds(OTHER_REGION, "UnrecognizedClient" if code.startswith("Unrecognized") else "AccessDenied")
        team_a = create_stack("team-a")
        failed = for_stack(cfn, team_a).send("Create", {**V1, "Region": OTHER_REGION}).answer
        assert failed["Status"] == "FAILED"
        assert f"Region {OTHER_REGION}" in failed["Reason"] and "Nothing was changed" in failed["Reason"]
        assert (
            failed["PhysicalResourceId"] == f"rds-certificate-override:nothing-changed:{failed['RequestId']}"
        )
        refused.clear()
        rollback = for_stack(cfn, team_a).send(
            "Delete", {**V1, "Region": OTHER_REGION}, physical_id=failed["PhysicalResourceId"]
        )
        assert rollback.answer["Status"] == "SUCCESS"
        assert refused == ["put_parameter"], "one refused write, no lock, no wait, no RDS call"
        assert rds_calls() == []

    def test_an_scp_that_denies_rds_only_fails_the_create_and_its_rollback_succeeds(
        self, cfn: CloudFormation
    ) -> None:
        refuse_rds(OTHER_REGION, "AccessDenied", 403)
        team_a = create_stack("team-a")
        failed = for_stack(cfn, team_a).send("Create", {**V1, "Region": OTHER_REGION}).answer
        assert failed["Status"] == "FAILED"
        assert "DescribeCertificates was denied (AccessDenied)" in failed["Reason"]
        assert failed["PhysicalResourceId"].startswith("rds-certificate-override:nothing-changed:")
        assert declarations_of(OTHER_REGION) == {}
        rollback = (
            for_stack(cfn, team_a)
            .send("Delete", {**V1, "Region": OTHER_REGION}, physical_id=failed["PhysicalResourceId"])
            .answer
        )
        assert rollback["Status"] == "SUCCESS"
        assert withdrawals(OTHER_REGION) == {declaration_name(team_a): failed["RequestId"]}
        assert lock_is_free(OTHER_REGION)

    def test_a_region_change_into_it_fails_and_the_rollback_update_succeeds(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        refuse_ssm(monkeypatch, OTHER_REGION, "UnrecognizedClientException")
        moved = {**V1, "Region": OTHER_REGION}
        failed = (
            for_stack(cfn, team_a)
            .send("Update", moved, physical_id=created["PhysicalResourceId"], old_properties=V1)
            .answer
        )
        assert failed["Status"] == "FAILED"
        rollback = (
            for_stack(cfn, team_a)
            .send("Update", V1, physical_id=created["PhysicalResourceId"], old_properties=moved)
            .answer
        )
        assert rollback["Status"] == "SUCCESS", rollback["Reason"]
        assert override() == RSA4096
        assert list(declarations_of()) == [declaration_name(team_a)]


class TestLateEvents:
    def test_templates_drop_events_older_than_cloudformations_longest_wait(self) -> None:
        template = settings.REPOSITORY.joinpath("template.yaml").read_text()
        assert "MaximumEventAgeInSeconds: 3600" in template

    @pytest.mark.parametrize("request_type", ["Create", "Delete"])
    def test_an_event_older_than_its_service_timeout_changes_nothing(
        self, cfn: CloudFormation, clock: FakeClock, request_type: str
    ) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V2).answer
        before = (override(), entries(), lock_generations(ssm()))
        physical_id = created["PhysicalResourceId"] if request_type == "Delete" else None
        event = for_stack(cfn, create_stack("team-b") if request_type == "Create" else team_a).event(
            request_type, V1 if request_type == "Create" else V2, physical_id=physical_id
        )
        clock.offset = (
            signed_at(event) - clock.start + settings.SERVICE_TIMEOUT_S + 1.0
        )  # Lambda delivers it late
        answer = cfn.deliver(event).answer
        assert answer["Status"] == "FAILED"
        assert "arrived after CloudFormation stopped waiting for it" in answer["Reason"]
        assert (override(), entries(), lock_generations(ssm())) == before
        assert rds_calls() == []

    def test_an_event_with_time_for_its_writes_before_cloudformation_stops_waiting_runs(
        self, cfn: CloudFormation, clock: FakeClock
    ) -> None:
        event = for_stack(cfn, create_stack("team-a")).event("Create", V1)
        time_for_the_writes = aws_sdk.worst_case_seconds(1) + 3.0  # one attempt of each write
        clock.offset = signed_at(event) - clock.start + settings.SERVICE_TIMEOUT_S - time_for_the_writes
        assert cfn.deliver(event).answer["Status"] == "SUCCESS"
        assert override() == RSA4096

    def test_an_event_admitted_too_close_to_cloudformations_deadline_writes_nothing(
        self, cfn: CloudFormation, clock: FakeClock
    ) -> None:
        """Admitted before CloudFormation stops waiting, but without time for a write and its retries: a
        write then could land after CloudFormation rolled the resource back. It writes nothing."""
        event = for_stack(cfn, create_stack("team-a")).event("Create", V1)
        clock.offset = signed_at(event) - clock.start + settings.SERVICE_TIMEOUT_S - 7.0  # not one attempt
        answer = cfn.deliver(event).answer
        assert answer["Status"] == "FAILED"
        assert "Too little time left to record the declaration" in answer["Reason"]
        assert answer["PhysicalResourceId"].startswith("rds-certificate-override:nothing-changed:")
        assert (override(), declarations_of(), withdrawals()) == (None, {}, {})
        assert lock_is_free()

    def test_a_create_delivered_again_after_its_rollback_changes_nothing(self, cfn: CloudFormation) -> None:
        """team-b's Create is refused (team-a declares another CA) and rolled back; then team-a goes away
        and Lambda delivers team-b's Create again: it must not declare for a resource that is gone."""
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        a_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        create_b = for_stack(cfn, team_b).event("Create", V2)
        refused = answer_of(cfn, create_b)
        assert refused["PhysicalResourceId"].startswith("rds-certificate-override:nothing-changed:")
        assert (
            for_stack(cfn, team_b)
            .send("Delete", V2, physical_id=refused["PhysicalResourceId"])
            .answer["Status"]
            == "SUCCESS"
        )
        for_stack(cfn, team_a).send("Delete", V1, physical_id=a_id)
        again = answer_of(cfn, create_b)
        assert again["Status"] == "FAILED"
        assert "already rolled back" in again["Reason"]
        assert (override(), declarations_of()) == (None, {})

    def test_a_create_that_recorded_then_failed_and_was_rolled_back_is_not_redone(
        self, cfn: CloudFormation
    ) -> None:
        team_a = create_stack("team-a")
        emulator.inject_fault("ModifyCertificates", code="InternalFailure", status=500, count=None)
        create = for_stack(cfn, team_a).event("Create", V1)
        failed = answer_of(cfn, create)
        assert failed["PhysicalResourceId"].startswith("rds-certificate-override:create-failed:")
        emulator.clear_faults()
        for_stack(cfn, team_a).send("Delete", V1, physical_id=failed["PhysicalResourceId"])
        again = answer_of(cfn, create)
        assert again["Status"] == "FAILED"
        assert (override(), declarations_of()) == (None, {})

    def test_a_create_whose_resource_is_rolled_back_while_it_runs_changes_nothing(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The rollback Delete of a Create that changed nothing takes no lock: if it runs between another
        delivery's read of the ledger and its first write, the create-only write refuses that delivery."""
        team_a = create_stack("team-a")
        create = for_stack(cfn, team_a).event("Create", V1)
        read = ledger.read_declarations

        def read_then_rollback(region: str) -> Any:
            snapshot = read(region)
            protocol.withdraw_unchanged(index._request(region, create, None), create["RequestId"])
            return snapshot

        monkeypatch.setattr(ledger, "read_declarations", read_then_rollback)
        answer = answer_of(cfn, create)
        assert answer["Status"] == "FAILED"
        assert "deleted while this Create waited" in answer["Reason"]
        assert override() is None
        assert rds_calls() == [(REGION, "DescribeCertificates")]


class TestLockFaults:
    def test_a_release_throttled_past_the_sdks_retries_is_retried_and_the_next_event_runs_at_once(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
    ) -> None:
        """A lock left held would block the region (the resource's own next request included) until its
        lease ends: the release keeps trying, past the SDK's five attempts, while the invocation has time."""
        put = SimpleSystemManagerBackend.put_parameter
        throttled: list[str] = []

        def put_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if name == lock_name(2) and len(throttled) < 7:
                throttled.append(name)
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            return put(self, name, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        assert created["Status"] == "SUCCESS"
        assert len(throttled) == 7, "more attempts than one call of the SDK makes"
        assert lock_is_free()
        slept = len(clock.slept)
        deleted = for_stack(cfn, team_a).send("Delete", V1, physical_id=created["PhysicalResourceId"]).answer
        assert deleted["Status"] == "SUCCESS"
        assert len(clock.slept) == slept, "the Delete did not wait"
        assert (override(), declarations_of()) == (None, {})

    def test_a_release_throttled_for_ever_still_answers_success_and_the_lease_ends_the_lock(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
    ) -> None:
        put = SimpleSystemManagerBackend.put_parameter

        def put_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if name == lock_name(2):
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            return put(self, name, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
        start = clock.time()
        created = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert created["Status"] == "SUCCESS"
        deadline = start + settings.TIMEOUT_S - cfn_resource.TIMEOUT_MARGIN_SECONDS
        assert deadline - 3.0 < clock.time() <= deadline, "it kept trying until just before its deadline"
        assert not lock_is_free(now=clock.time())
        assert lock_is_free(now=deadline + protocol.LEASE_MARGIN_SECONDS), "the lease ends it"

    def test_too_many_updates_on_the_lock_means_wait_and_try_again(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
    ) -> None:
        put = SimpleSystemManagerBackend.put_parameter
        busy = iter([True])

        def put_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if "/region-lock-" in name and next(busy, False):
                raise JsonRESTError("TooManyUpdates", "There are concurrent updates for the resource")
            return put(self, name, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
        assert for_stack(cfn, create_stack("team-a")).send("Create", V1).answer["Status"] == "SUCCESS"
        assert len(clock.slept) == 1

    def test_the_wait_gives_up_leaving_time_for_the_write_and_the_lease_is_from_the_deadline(
        self, cfn: CloudFormation, clock: FakeClock
    ) -> None:
        now = clock.time()
        hold_lock(REGION, LockHolder("someone", "Else", "r-0"), expires_at=now + 3600)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert "did not end in time" in answer["Reason"] and "Nothing was changed" in answer["Reason"]
        time_left = settings.TIMEOUT_S - cfn_resource.TIMEOUT_MARGIN_SECONDS
        budget = time_left - protocol.TIME_KEPT_FOR_THE_WORK_SECONDS
        assert protocol.TIME_KEPT_FOR_THE_WORK_SECONDS == 27.0 + 5.0, "three attempts of a write, the reads"
        assert budget - 1.5 < clock.offset <= budget + 0.5
        assert override() is None

    def test_a_lease_is_taken_over_when_it_ends_and_stamped_from_the_deadline(
        self, cfn: CloudFormation, clock: FakeClock
    ) -> None:
        start = clock.time()
        hold_lock(REGION, LockHolder("someone", "Else", "r-0"), expires_at=start + 20)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert answer["Status"] == "SUCCESS"
        assert 20 <= clock.offset < 21.5, "it waited for the lease, no longer"
        # The lease it wrote: its own answer deadline plus the margin, however long it waited.
        lease = json.loads(lock_generations(ssm())[3])["ExpiresAt"]
        deadline = start + settings.TIMEOUT_S - cfn_resource.TIMEOUT_MARGIN_SECONDS
        assert protocol.LEASE_MARGIN_SECONDS == 15.0
        assert deadline + 15.0 - 1.0 < lease <= deadline + 15.0 + 0.5


class TestLostAnswersAndFences:
    """Faults the explorer (docs/explorer.md) found, each kept as a named case."""

    def test_a_first_record_whose_answer_was_lost_is_recognised_by_its_value(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SSM stored the create-only first entry, the answer was lost, the SDK's retry was refused: the
        entry holds this very value, so the Create goes on (it is not 'deleted while it waited')."""
        put = SimpleSystemManagerBackend.put_parameter
        lost = iter([True])

        def put_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            stored = put(self, name, *args, **kwargs)
            if "/declarations/" in name and next(lost, False):
                raise JsonRESTError("ParameterAlreadyExists", "The parameter already exists.")
            return stored

        monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        assert override() == RSA4096
        assert [d["State"] for d in declarations_of().values()] == ["applied"]

    def test_nothing_is_written_once_the_timer_has_answered(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The timer answers FAILED while ModifyCertificates is in flight: the write lands, but the record
        of it as applied is not started; the entry stays pending, and the rollback Delete undoes it."""
        set_override = protocol.rds.set_override

        def timer_fires_during_the_write(region: str, identifier: str, **kwargs: Any) -> Any:
            index.helper._timeout()  # crhelper's timer: FAILED, 5 s before Lambda stops the process
            return set_override(region, identifier, **kwargs)

        monkeypatch.setattr(protocol.rds, "set_override", timer_fires_during_the_write)
        team_a = create_stack("team-a")
        answer = for_stack(cfn, team_a).send("Create", V1).answer
        assert answer["Status"] == "FAILED" and "about to time out" in answer["Reason"]
        assert override() == RSA4096, "the write sent before the answer landed"
        assert [d["State"] for d in declarations_of().values()] == ["pending"], "nothing after the answer"
        monkeypatch.setattr(protocol.rds, "set_override", set_override)
        rollback = for_stack(cfn, team_a).send("Delete", V1, physical_id=answer["PhysicalResourceId"]).answer
        assert rollback["Status"] == "SUCCESS"
        assert (override(), declarations_of()) == (None, {})

    def test_a_create_that_never_held_the_lock_changed_nothing_and_its_rollback_needs_no_lock(
        self, cfn: CloudFormation, clock: FakeClock
    ) -> None:
        hold_lock(REGION, LockHolder("someone", "Else", "r-0"), expires_at=clock.time() + 3600)
        team_a = create_stack("team-a")
        failed = for_stack(cfn, team_a).send("Create", V1).answer
        assert failed["Status"] == "FAILED" and "did not end in time" in failed["Reason"]
        assert failed["PhysicalResourceId"].startswith("rds-certificate-override:nothing-changed:")
        waited = clock.offset
        rollback = for_stack(cfn, team_a).send("Delete", V1, physical_id=failed["PhysicalResourceId"]).answer
        assert rollback["Status"] == "SUCCESS"
        assert clock.offset == waited, "the rollback did not wait for the busy region"
        assert list(withdrawals().values()) == [failed["PhysicalResourceId"].rsplit(":", 1)[1]]

    def test_the_delete_of_a_create_whose_answer_cloudformation_never_had_undoes_it(
        self, cfn: CloudFormation
    ) -> None:
        """The Create declared and wrote, but its answer never reached CloudFormation: CloudFormation stopped
        waiting and deletes the resource under an id of its own making."""
        team_a = create_stack("team-a")
        create = for_stack(cfn, team_a).event("Create", V1)
        assert answer_of(cfn, create)["Status"] == "SUCCESS"  # the answer that CloudFormation never read
        made_up = "team-a-Override-1QW2E3R4T5Y6"
        rollback = for_stack(cfn, team_a).send("Delete", V1, physical_id=made_up).answer
        assert (rollback["Status"], rollback["PhysicalResourceId"]) == ("SUCCESS", made_up)
        assert (override(), declarations_of()) == (None, {})
        assert withdrawals() == {declaration_name(team_a): create["RequestId"]}, (
            "a late delivery changes nothing"
        )

    def test_the_delete_of_an_unanswered_create_that_recorded_nothing_changes_nothing(
        self, cfn: CloudFormation
    ) -> None:
        team_b = create_stack("team-b")
        for_stack(cfn, team_b).send("Create", V1)
        other = for_stack(cfn, create_stack("team-a")).send("Delete", V1, physical_id="made-up").answer
        assert other["Status"] == "SUCCESS"
        assert (override(), list(declarations_of())) == (RSA4096, [declaration_name(team_b)])

    def test_a_late_delivery_of_an_older_request_changes_nothing_after_a_newer_one_wrote(
        self, cfn: CloudFormation
    ) -> None:
        """The Create is delivered again after the Update that followed it changed the CA: a declaration
        says when its request was sent (the ResponseURL's X-Amz-Date): the older request knows it is late."""
        team = for_stack(cfn, create_stack("team-a"))
        create = team.event("Create", V1)
        physical_id = answer_of(cfn, create)["PhysicalResourceId"]
        update = team.event("Update", V2, physical_id=physical_id, old_properties=V1)
        update["ResponseURL"] = cfn.function.response_url(
            update["RequestId"], signed_at=signed_at(create) + 5
        )
        assert answer_of(cfn, update)["Status"] == "SUCCESS"
        late = answer_of(cfn, create)
        assert late["Status"] == "FAILED"
        assert "A later request of this resource" in late["Reason"]
        assert override() == ECC384, "the Update's CA stands"

    def test_a_newer_request_stamps_an_unchanged_declaration(self, cfn: CloudFormation) -> None:
        team = for_stack(cfn, create_stack("team-a"))
        create = team.event("Create", V1)
        physical_id = answer_of(cfn, create)["PhysicalResourceId"]
        unchanged = team.event("Update", V1, physical_id=physical_id, old_properties=V1)
        later = signed_at(create) + 5
        unchanged["ResponseURL"] = cfn.function.response_url(unchanged["RequestId"], signed_at=later)
        assert answer_of(cfn, unchanged)["Status"] == "SUCCESS"
        (declared,) = declarations_of().values()
        assert declared["RequestSentAt"] == datetime.fromtimestamp(later, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert answer_of(cfn, create)["Status"] == "FAILED", "the Create, delivered again, is older"
        assert override() == RSA4096

    def test_old_withdrawals_go_with_the_next_event_in_the_region(self, cfn: CloudFormation) -> None:
        """A withdrawal only has to outlive every delivery of its failed Create that could still act."""
        now = time.time()

        def withdrawal(stack: str, age: float) -> declarations.Declaration:
            moment = datetime.fromtimestamp(now - age, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return declarations.Declaration(
                create_stack(stack),
                settings.LOGICAL_ID,
                "-",
                None,
                False,
                declarations.WriteState.WITHDRAWN,
                "r",
                moment,
            )

        old = withdrawal("gone-long-ago", declarations.WITHDRAWAL_LIFETIME_SECONDS + 5)
        young = withdrawal("failed-just-now", declarations.WITHDRAWAL_LIFETIME_SECONDS - 60)
        for entry in (old, young):
            write_entry(entry.name, entry.to_json())
        assert for_stack(cfn, create_stack("team-a")).send("Create", V1).answer["Status"] == "SUCCESS"
        assert list(withdrawals()) == [young.name]


def write_entry(name: str, value: str, region: str = REGION) -> None:
    ssm(region).put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


class TestUnreadableEntries:
    @pytest.mark.parametrize(
        "value",
        ["{not json", json.dumps({"Version": 2, "CertificateIdentifier": RSA4096}), '{"Version": true}'],
    )
    def test_a_change_is_refused_naming_the_entry_and_the_way_out(
        self, cfn: CloudFormation, value: str
    ) -> None:
        broken = parameter_name(create_stack("team-x"), "Override")
        write_entry(broken, value)
        team_a = create_stack("team-a")
        answer = for_stack(cfn, team_a).send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert f"The ledger entry {broken} cannot be read" in answer["Reason"]
        assert f"aws ssm delete-parameter --name {broken}" in answer["Reason"]
        assert override() is None
        assert declaration_name(team_a) not in entries()

    def test_joining_the_standing_ca_still_works(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA4096)
        write_entry(parameter_name(create_stack("team-x"), "Override"), "{")
        assert for_stack(cfn, create_stack("team-a")).send("Create", V1).answer["Status"] == "SUCCESS"

    def test_the_last_readable_declarer_leaves_the_override_and_says_why(
        self, cfn: CloudFormation, json_logs: io.StringIO
    ) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        broken = parameter_name(create_stack("team-x"), "Override")
        write_entry(broken, "{")
        deleted = for_stack(cfn, team_a).send("Delete", V1, physical_id=created["PhysicalResourceId"]).answer
        assert deleted["Status"] == "SUCCESS"
        assert override() == RSA4096
        assert any(broken in r["message"] for r in records(json_logs, "WARNING"))

    def test_its_own_unreadable_entry_leaves_the_override_on_delete(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        write_entry(declaration_name(team_a), "{")
        assert (
            for_stack(cfn, team_a)
            .send("Delete", V1, physical_id=created["PhysicalResourceId"])
            .answer["Status"]
            == "SUCCESS"
        )
        assert override() == RSA4096
        assert entries() == {}

    def test_a_declaration_too_large_for_a_standard_parameter_is_refused_before_any_write(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """CloudFormation's own limits keep a declaration under 1 KB; the check stands before every write."""
        monkeypatch.setattr(declarations, "MAX_VALUE_BYTES", 300)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert "more than the 300 bytes of an SSM standard parameter" in answer["Reason"]
        assert (override(), entries()) == (None, {})


class TestWhatStoodBefore:
    def test_it_comes_from_live_declarations_only(self, cfn: CloudFormation) -> None:
        """A stack deleted with Retain leaves its declaration; a CA set by hand since is what the next
        stack finds standing, and what its Delete restores."""
        gone = create_stack("gone")
        for_stack(cfn, gone).send("Create", V1)
        delete_stack(gone)  # Retain: no Delete request
        emulator.set_override(ACCOUNT, REGION, RSA2048)  # set by hand
        team_a = create_stack("team-a")
        restore = {**V2, "RestorePreviousOnDelete": "true"}
        created = for_stack(cfn, team_a).send("Create", restore).answer
        assert created["Data"]["PreviousCertificateIdentifier"] == RSA2048
        for_stack(cfn, team_a).send("Delete", restore, physical_id=created["PhysicalResourceId"])
        assert override() == RSA2048


class TestSmallerOnes:
    def test_refusing_a_create_asks_about_one_live_holder_not_every_co_declarer(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        holders = [create_stack(f"team-{n}") for n in range(12)]
        for stack in holders:
            for_stack(cfn, stack).send("Create", V1)
        asked = []
        stack_gone = ledger.stack_gone
        monkeypatch.setattr(
            ledger, "stack_gone", lambda stack_id: asked.append(stack_id) or stack_gone(stack_id)
        )
        refused = for_stack(cfn, create_stack("late")).send("Create", V2).answer
        assert refused["Status"] == "FAILED"
        assert len(asked) == 1

    @pytest.mark.filterwarnings("ignore:Exception\\(CloudFormationError\\) with code:UserWarning")
    def test_an_error_from_a_declaring_stacks_own_region_names_that_region(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        elsewhere = create_stack("elsewhere", region=OTHER_REGION)
        for_stack(cfn, elsewhere).send("Create", V1)
        describe = CloudFormationBackend.describe_stacks

        def refusing(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.region_name == OTHER_REGION:
                raise CloudFormationError("UnrecognizedClientException", "The security token is invalid.")
            return describe(self, *args, **kwargs)

        monkeypatch.setattr(CloudFormationBackend, "describe_stacks", refusing)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V2).answer
        assert answer["Status"] == "FAILED"
        assert (
            f"CloudFormation in its region {OTHER_REGION} answered UnrecognizedClientException"
            in answer["Reason"]
        )
        assert f"Region {REGION}" not in answer["Reason"]

    def test_an_unknown_request_type_is_named_with_the_valid_ones(self, cfn: CloudFormation) -> None:
        event = cfn.event("Create", V1)
        event["RequestType"] = "Upsert"
        answer = cfn.deliver(event).answer
        assert answer["Status"] == "FAILED"
        assert (
            answer["Reason"]
            == "RequestType 'Upsert' is not one of Create, Update, Delete. Nothing was changed."
        )
        assert (override(), entries(), rds_calls()) == (None, {}, [])

    def test_at_ssms_parameter_quota_the_reason_names_it_and_the_fix(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        put = SimpleSystemManagerBackend.put_parameter

        def put_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if "/declarations/" in name:
                raise JsonRESTError("ParameterLimitExceeded", "You have exceeded the number of parameters")
            return put(self, name, *args, **kwargs)

        monkeypatch.setattr(SimpleSystemManagerBackend, "put_parameter", put_parameter)
        answer = for_stack(cfn, create_stack("team-a")).send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert "quota of 10,000 standard parameters" in answer["Reason"]
        assert "Service Quotas" in answer["Reason"]
        assert override() is None


class TestWhatTheLedgerRecords:
    def test_an_update_records_its_intent_before_its_write(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        emulator.inject_fault("ModifyCertificates", code="AccessDenied", status=403, count=None)
        failed = (
            for_stack(cfn, team_a)
            .send("Update", V2, physical_id=created["PhysicalResourceId"], old_properties=V1)
            .answer
        )
        assert failed["Status"] == "FAILED"
        recorded = declarations_of()[declaration_name(team_a)]
        assert (recorded["CertificateIdentifier"], recorded["State"]) == (ECC384, "pending")

    def test_an_update_of_restore_previous_on_delete_alone_is_recorded(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        created = for_stack(cfn, team_a).send("Create", V1).answer
        restore = {**V1, "RestorePreviousOnDelete": "true"}
        for_stack(cfn, team_a).send(
            "Update", restore, physical_id=created["PhysicalResourceId"], old_properties=V1
        )
        assert declarations_of()[declaration_name(team_a)]["RestorePreviousOnDelete"] is True

    def test_a_pending_declaration_is_not_taken_for_a_write_that_landed(
        self, cfn: CloudFormation, json_logs: io.StringIO
    ) -> None:
        team_a = create_stack("team-a")
        emulator.inject_fault("ModifyCertificates", code="AccessDenied", status=403, count=None)
        failed = for_stack(cfn, team_a).send("Create", V1).answer
        emulator.clear_faults()
        emulator.set_override(ACCOUNT, REGION, RSA2048)  # someone else's, set by hand meanwhile
        for_stack(cfn, team_a).send("Delete", V1, physical_id=failed["PhysicalResourceId"])
        assert override() == RSA2048
        infos = [r["message"] for r in records(json_logs, "INFO")]
        assert f"Delete: the write of {RSA4096} never landed: nothing to undo" in infos
        assert not [r for r in records(json_logs, "WARNING") if "changed outside" in r["message"]]
