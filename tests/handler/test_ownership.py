"""Who owns the override: the declarations ledger in SSM, as CloudFormation and Lambda exercise it.

In-process on the emulator (moto's SSM and CloudFormation included): stacks are real moto stacks, so that
the function can tell a live declaration from a stale one. Concurrent invocations, which need separate
processes, are in test_concurrency.py.
"""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.stub import Stubber

import aws_sdk
import cfn_resource
import index
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
    for_stack,
    ledger,
    lock_is_free,
    override,
    rds_calls,
    records,
    withdrawals,
)
from rds_override_ledger.declarations import lock_name
from rds_override_local import rds_emulator as emulator
from rds_override_local import settings

RSA4096 = V1["CertificateIdentifier"]
ECC384 = V2["CertificateIdentifier"]
RSA2048 = "rds-ca-rsa2048-g1"


def modify_calls() -> int:
    return sum(action == "ModifyCertificates" for _, action in rds_calls())


def declaration(stack_id: str, logical_id: str = "Override", region: str = REGION) -> dict[str, object]:
    return ledger(region)[declaration_name(stack_id, logical_id)]


class TestTheLedger:
    def test_a_create_records_its_declaration(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA2048)  # set by hand: adopted as what stood before
        team_a = create_stack("team-a")
        answer = for_stack(cfn, team_a).send("Create", V1).answer
        assert answer["Status"] == "SUCCESS"
        recorded = declaration(team_a)
        assert recorded == {
            "Version": 1,
            "StackId": team_a,
            "LogicalResourceId": "Override",
            "CertificateIdentifier": RSA4096,
            "PreviousOverride": RSA2048,
            "RestorePreviousOnDelete": False,
            "State": "applied",
            "RequestId": answer["RequestId"],
            "UpdatedAt": recorded["UpdatedAt"],
            "RequestSentAt": recorded["RequestSentAt"],
        }
        assert recorded["RequestSentAt"] <= recorded["UpdatedAt"], (
            "sent (the ResponseURL's signing), then run"
        )
        parameter = boto3.client("ssm", region_name=REGION).get_parameter(Name=declaration_name(team_a))[
            "Parameter"
        ]
        assert parameter["Type"] == "String"

    def test_the_ledger_lives_in_the_target_region(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        assert (
            for_stack(cfn, team_a).send("Create", {**V1, "Region": OTHER_REGION}).answer["Status"]
            == "SUCCESS"
        )
        assert list(ledger(OTHER_REGION)) == [declaration_name(team_a)]
        assert ledger(REGION) == {}

    def test_a_delete_withdraws_the_declaration_and_the_lock_is_released(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        physical_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        deleted = for_stack(cfn, team_a).send("Delete", V1, physical_id=physical_id).answer
        assert deleted["Status"] == "SUCCESS"
        assert ledger() == {}
        assert override() is None
        assert lock_is_free(), "the region lock must be released"
        names = [
            p["Name"] for p in boto3.client("ssm", region_name=REGION).describe_parameters()["Parameters"]
        ]
        assert sorted(names) == sorted([declaration_name(team_a), *(lock_name(g) for g in (1, 2, 3, 4))]), (
            "the lock's generations (each event's lease and the free one after it) and the withdrawal"
        )
        assert withdrawals() == {declaration_name(team_a): deleted["RequestId"]}, (
            "a late delivery of a request sent before the Delete finds it and changes nothing"
        )

    def test_a_create_delivered_again_after_its_resource_was_deleted_changes_nothing(
        self, cfn: CloudFormation
    ) -> None:
        """Lambda delivers the Create again (at least once) after CloudFormation created and deleted the
        resource, within the Create's time: it must not declare for a resource that is gone (explorer)."""
        team_a = create_stack("team-a")
        create = for_stack(cfn, team_a).event("Create", V1)
        physical_id = cfn.deliver(create).answer["PhysicalResourceId"]
        for_stack(cfn, team_a).send("Delete", V1, physical_id=physical_id)
        index.helper._answers.clear()  # a cold instance
        again = cfn.deliver(create).answer
        assert again["Status"] == "FAILED"
        assert "sent before its resource was deleted" in again["Reason"]
        assert (override(), ledger()) == (None, {})

    def test_an_update_records_the_new_ca_and_keeps_what_stood_before(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA2048)
        team_a = create_stack("team-a")
        physical_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        update = for_stack(cfn, team_a).send("Update", V2, physical_id=physical_id, old_properties=V1).answer
        assert update["Status"] == "SUCCESS"
        assert declaration(team_a)["CertificateIdentifier"] == ECC384
        assert declaration(team_a)["PreviousOverride"] == RSA2048
        assert override() == ECC384


class TestIntentBeforeEffect:
    def test_the_declaration_is_recorded_before_the_rds_write(self, cfn: CloudFormation) -> None:
        emulator.inject_fault("ModifyCertificates", code="AccessDenied", status=403, count=None)
        team_a = create_stack("team-a")
        failed = for_stack(cfn, team_a).send("Create", V1).answer
        assert failed["Status"] == "FAILED"
        assert declaration(team_a)["State"] == "pending"
        assert declaration(team_a)["RequestId"] == failed["RequestId"]
        # The rollback Delete finds it by StackId + LogicalResourceId: the write never landed.
        emulator.clear_faults()
        answer = for_stack(cfn, team_a).send("Delete", V1, physical_id=failed["PhysicalResourceId"]).answer
        assert answer["Status"] == "SUCCESS"
        assert (override(), ledger(), modify_calls()) == (None, {}, 0)
        assert withdrawals() == {declaration_name(team_a): failed["RequestId"]}

    def test_a_write_that_outlives_the_timer_is_undone_by_the_rollback_delete(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """RDS applies the change but answers after the timer has answered FAILED."""
        emulator.set_override(ACCOUNT, REGION, RSA2048)
        monkeypatch.setattr(
            aws_sdk, "attempts_within", lambda seconds: int(seconds >= 0.5)
        )  # a short function
        emulator.inject_delay("ModifyCertificates", 2.0)
        team_a = create_stack("team-a")
        restoring = {**V1, "RestorePreviousOnDelete": "true"}
        cfn.function.timeout_s = cfn_resource.TIMEOUT_MARGIN_SECONDS + 1.0
        failed = for_stack(cfn, team_a).send("Create", restoring).answer
        assert failed["Status"] == "FAILED"
        assert "about to time out" in failed["Reason"]
        assert failed["PhysicalResourceId"] == f"rds-certificate-override:create-failed:{failed['RequestId']}"
        assert override() == RSA4096, "the late write landed"
        cfn.function.timeout_s = settings.TIMEOUT_S
        rollback = (
            for_stack(cfn, team_a).send("Delete", restoring, physical_id=failed["PhysicalResourceId"]).answer
        )
        assert rollback["Status"] == "SUCCESS"
        assert override() == RSA2048, "what stood before is back"
        assert ledger() == {}
        assert withdrawals() == {declaration_name(team_a): failed["RequestId"]}

    def test_a_write_is_not_started_without_time_to_finish_it(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        short = cfn_resource.TIMEOUT_MARGIN_SECONDS + aws_sdk.worst_case_seconds(1) / 2
        cfn.function.timeout_s = short
        answer = for_stack(cfn, team_a).send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert answer["Reason"] == (
            "Too little time left to record the declaration of rds-ca-rsa4096-g1 in eu-west-1 before the "
            "answer is due. Nothing was changed."
        )
        assert answer["PhysicalResourceId"].startswith("rds-certificate-override:nothing-changed:")
        assert (override(), ledger(), modify_calls()) == (None, {}, 0)

    def test_a_delete_does_not_start_a_write_without_time_to_finish_it(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        physical_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        cfn.function.timeout_s = cfn_resource.TIMEOUT_MARGIN_SECONDS + aws_sdk.worst_case_seconds(1) / 2
        answer = for_stack(cfn, team_a).send("Delete", V1, physical_id=physical_id).answer
        assert answer["Status"] == "FAILED"
        assert "Too little time left" in answer["Reason"]
        assert (override(), list(ledger()), modify_calls()) == (RSA4096, [declaration_name(team_a)], 0)

    def test_the_delete_of_a_failed_create_only_undoes_that_create(self, cfn: CloudFormation) -> None:
        """A marker from an older failed Create must not withdraw a later, successful declaration."""
        team_a = create_stack("team-a")
        for_stack(cfn, team_a).send("Create", V1)
        stale_marker = "rds-certificate-override:create-failed:an-older-request"
        answer = for_stack(cfn, team_a).send("Delete", V1, physical_id=stale_marker).answer
        assert answer["Status"] == "SUCCESS"
        assert (override(), list(ledger())) == (RSA4096, [declaration_name(team_a)])

    def test_a_timed_out_region_change_is_withdrawn_by_its_rollback(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        team_a = create_stack("team-a")
        physical_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        moved = {**V1, "Region": OTHER_REGION}
        monkeypatch.setattr(aws_sdk, "attempts_within", lambda seconds: int(seconds >= 0.5))
        emulator.inject_delay("ModifyCertificates", 2.0, region=OTHER_REGION)
        cfn.function.timeout_s = cfn_resource.TIMEOUT_MARGIN_SECONDS + 1.0
        failed = (
            for_stack(cfn, team_a).send("Update", moved, physical_id=physical_id, old_properties=V1).answer
        )
        assert failed["Status"] == "FAILED"
        assert failed["PhysicalResourceId"] == physical_id
        assert override(OTHER_REGION) == RSA4096, "the late write landed"
        cfn.function.timeout_s = settings.TIMEOUT_S
        rollback = (
            for_stack(cfn, team_a).send("Update", V1, physical_id=physical_id, old_properties=moved).answer
        )
        assert rollback["Status"] == "SUCCESS"
        assert (override(OTHER_REGION), ledger(OTHER_REGION)) == (None, {})
        assert (override(), list(ledger())) == (RSA4096, [declaration_name(team_a)])


class TestRedelivery:
    def test_a_create_delivered_again_to_a_cold_instance_keeps_what_stood_before(
        self, cfn: CloudFormation
    ) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA2048)
        team_a = create_stack("team-a")
        restoring = {**V1, "RestorePreviousOnDelete": "true"}
        team = for_stack(cfn, team_a)
        event = team.event("Create", restoring)
        first = team.deliver(event).answer
        index.helper._answers.clear()  # a cold instance remembers no answer
        second = team.deliver(event).answer
        assert second == first
        assert declaration(team_a)["PreviousOverride"] == RSA2048
        assert modify_calls() == 0
        for_stack(cfn, team_a).send("Delete", restoring, physical_id=first["PhysicalResourceId"])
        assert override() == RSA2048

    def test_a_create_delivered_again_to_a_warm_instance_gets_the_same_answer_and_no_call(
        self, cfn: CloudFormation
    ) -> None:
        team_a = create_stack("team-a")
        team = for_stack(cfn, team_a)
        event = team.event("Create", V1)
        first = team.deliver(event).answer
        assert team.deliver(event).answer == first
        assert rds_calls() == []


class TestCoDeclaration:
    def test_a_second_stack_joins_without_writing(self, cfn: CloudFormation) -> None:
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        for_stack(cfn, team_a).send("Create", V1)
        joined = for_stack(cfn, team_b).send("Create", V1).answer
        assert joined["Status"] == "SUCCESS"
        assert modify_calls() == 0
        assert set(ledger()) == {declaration_name(team_a), declaration_name(team_b)}

    def test_a_joining_stack_writes_when_the_override_drifted(self, cfn: CloudFormation) -> None:
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        for_stack(cfn, team_a).send("Create", V1)
        emulator.set_override(ACCOUNT, REGION, ECC384)  # by hand
        assert for_stack(cfn, team_b).send("Create", V1).answer["Status"] == "SUCCESS"
        assert override() == RSA4096
        assert modify_calls() == 1

    def test_deleting_one_declarer_leaves_the_override_and_the_last_one_out_removes_it(
        self, cfn: CloudFormation
    ) -> None:
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        a_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        b_id = for_stack(cfn, team_b).send("Create", V1).answer["PhysicalResourceId"]
        assert for_stack(cfn, team_b).send("Delete", V1, physical_id=b_id).answer["Status"] == "SUCCESS"
        assert (override(), modify_calls(), list(ledger())) == (RSA4096, 0, [declaration_name(team_a)])
        assert for_stack(cfn, team_a).send("Delete", V1, physical_id=a_id).answer["Status"] == "SUCCESS"
        assert (override(), ledger()) == (None, {})

    def test_the_last_one_out_restores_what_stood_before_the_first_declaration(
        self, cfn: CloudFormation
    ) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA2048)
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        restoring = {**V1, "RestorePreviousOnDelete": "true"}
        a_id = for_stack(cfn, team_a).send("Create", restoring).answer["PhysicalResourceId"]
        b_id = for_stack(cfn, team_b).send("Create", restoring).answer["PhysicalResourceId"]
        assert declaration(team_b)["PreviousOverride"] == RSA2048, "not team-a's override"
        for_stack(cfn, team_a).send("Delete", restoring, physical_id=a_id)
        assert override() == RSA4096
        for_stack(cfn, team_b).send("Delete", restoring, physical_id=b_id)
        assert override() == RSA2048

    def test_moving_from_sam_to_cdk_in_one_region_changes_nothing_in_rds(self, cfn: CloudFormation) -> None:
        sam, cdk = create_stack("rds-certificate-override"), create_stack("platform-cdk")
        sam_id = for_stack(cfn, sam, "RdsCertificateOverride").send("Create", V1).answer["PhysicalResourceId"]
        for_stack(cfn, cdk, "DefaultCa4F2B1A07").send("Create", V1)
        for_stack(cfn, sam, "RdsCertificateOverride").send("Delete", V1, physical_id=sam_id)
        assert (override(), modify_calls()) == (RSA4096, 0)


class TestConflict:
    def test_another_ca_is_refused_naming_the_holder_and_changes_nothing(self, cfn: CloudFormation) -> None:
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        for_stack(cfn, team_a).send("Create", V1)
        refused = for_stack(cfn, team_b).send("Create", V2).answer
        assert refused["Status"] == "FAILED"
        assert refused["Reason"] == (
            "CertificateIdentifier rds-ca-ecc384-g1 conflicts with rds-ca-rsa4096-g1, which stack team-a, "
            "resource Override declares for eu-west-1: the default CA is one per account and region. "
            "Nothing was changed. Declare rds-ca-rsa4096-g1 here too, or first change or delete that "
            "declaration."
        )
        assert (override(), modify_calls(), list(ledger())) == (RSA4096, 0, [declaration_name(team_a)])
        # CloudFormation then deletes the failed resource: nothing changes.
        for_stack(cfn, team_b).send("Delete", V2, physical_id=refused["PhysicalResourceId"])
        assert (override(), modify_calls(), list(ledger())) == (RSA4096, 0, [declaration_name(team_a)])

    def test_an_update_to_another_ca_is_refused_while_another_stack_declares_and_rolls_back(
        self, cfn: CloudFormation
    ) -> None:
        team_a, team_b = create_stack("team-a"), create_stack("team-b")
        a_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        for_stack(cfn, team_b).send("Create", V1)
        refused = for_stack(cfn, team_a).send("Update", V2, physical_id=a_id, old_properties=V1).answer
        assert refused["Status"] == "FAILED"
        assert "which stack team-b, resource Override declares" in refused["Reason"]
        assert declaration(team_a)["CertificateIdentifier"] == RSA4096
        rollback = for_stack(cfn, team_a).send("Update", V1, physical_id=a_id, old_properties=V2).answer
        assert rollback["Status"] == "SUCCESS"
        assert (override(), modify_calls()) == (RSA4096, 0)

    def test_the_sole_declarer_changes_its_ca(self, cfn: CloudFormation) -> None:
        team_a = create_stack("team-a")
        a_id = for_stack(cfn, team_a).send("Create", V1).answer["PhysicalResourceId"]
        assert (
            for_stack(cfn, team_a).send("Update", V2, physical_id=a_id, old_properties=V1).answer["Status"]
            == "SUCCESS"
        )
        assert override() == ECC384


class TestStaleDeclarations:
    def test_a_declaration_whose_stack_is_gone_is_ignored_removed_and_logged(
        self, cfn: CloudFormation, json_logs: io.StringIO
    ) -> None:
        retained, team_b = create_stack("retained"), create_stack("team-b")
        for_stack(cfn, retained).send("Create", V1)
        delete_stack(retained)  # DeletionPolicy: Retain: no Delete event, the declaration stays
        assert list(ledger()) == [declaration_name(retained)]
        answer = for_stack(cfn, team_b).send("Create", V2).answer
        assert answer["Status"] == "SUCCESS"
        assert (override(), list(ledger())) == (ECC384, [declaration_name(team_b)])
        (warning,) = [r for r in records(json_logs, "WARNING") if "stale" in r["message"]]
        assert warning["holder"] == "stack retained, resource Override"

    def test_a_stale_co_declarer_does_not_keep_the_override(self, cfn: CloudFormation) -> None:
        retained, team_b = create_stack("retained"), create_stack("team-b")
        for_stack(cfn, retained).send("Create", V1)
        b_id = for_stack(cfn, team_b).send("Create", V1).answer["PhysicalResourceId"]
        delete_stack(retained)
        for_stack(cfn, team_b).send("Delete", V1, physical_id=b_id)
        assert (override(), ledger()) == (None, {})

    def test_a_stack_that_no_longer_answers_at_all_is_stale(self, cfn: CloudFormation) -> None:
        """Long after deletion DescribeStacks says 'does not exist' even for the ARN."""
        team_b = create_stack("team-b")
        never_existed = team_b.replace("team-b", "long-gone").rsplit("/", 1)[0] + "/0f0f0f0f-0000-0000"
        for_stack(cfn, never_existed).send("Create", V1)
        assert for_stack(cfn, team_b).send("Create", V2).answer["Status"] == "SUCCESS"
        assert list(ledger()) == [declaration_name(team_b)]


class TestResourcesFromBeforeTheLedger:
    def test_a_legacy_resource_is_deleted_as_before(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, RSA4096)
        legacy_id = "rds-certificate-override:v1:eu-west-1:-:0123456789ab"
        assert cfn.send("Delete", V1, physical_id=legacy_id).answer["Status"] == "SUCCESS"
        assert override() is None

    def test_a_legacy_resource_leaves_an_override_another_stack_declares(self, cfn: CloudFormation) -> None:
        team_b = create_stack("team-b")
        for_stack(cfn, team_b).send("Create", V1)
        legacy_id = "rds-certificate-override:v1:eu-west-1:-:0123456789ab"
        cfn.send("Delete", V1, physical_id=legacy_id)
        assert override() == RSA4096

    def test_an_update_of_a_legacy_resource_records_it_with_its_previous_override(
        self, cfn: CloudFormation
    ) -> None:
        team_a = create_stack("team-a")
        emulator.set_override(ACCOUNT, REGION, RSA4096)
        legacy_id = "rds-certificate-override:v1:eu-west-1:rds-ca-rsa2048-g1:0123456789ab"
        answer = for_stack(cfn, team_a).send("Update", V1, physical_id=legacy_id, old_properties=V1).answer
        assert answer["PhysicalResourceId"] == legacy_id
        assert declaration(team_a)["PreviousOverride"] == RSA2048


class TestInput:
    @pytest.mark.parametrize("properties", [None, "not-a-map"])
    def test_a_delete_with_missing_properties_succeeds(self, cfn: CloudFormation, properties: object) -> None:
        event = cfn.event("Delete", {}, physical_id="rds-certificate-override:create-failed:r-1")
        event["ResourceProperties"] = properties
        assert cfn.deliver(event).answer["Status"] == "SUCCESS"

    def test_a_region_that_is_not_enabled_fails_clearly(self, cfn: CloudFormation) -> None:
        ssm = aws_sdk.client("ssm", OTHER_REGION)
        with Stubber(ssm) as stubber:
            stubber.add_client_error(
                "get_parameters_by_path",
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                400,
            )
            answer = cfn.send("Create", {**V1, "Region": OTHER_REGION}).answer
        assert answer["Status"] == "FAILED"
        assert answer["Reason"].startswith(
            "Region us-east-1 refuses this account's credentials (UnrecognizedClientException): it is "
            "probably an opt-in region that the account has not enabled."
        )
        assert rds_calls() == []
