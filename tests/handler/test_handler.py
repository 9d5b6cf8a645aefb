"""The handler (lambda/index.py) against the RDS certificate emulator, in-process under moto's mock_aws.

Each test sends CloudFormation-shaped events (string properties) to `index.handler` and reads the answer it
PUTs to the ResponseURL (the `cfn` fixture, tests/handler/conftest.py).
"""

from __future__ import annotations

import importlib.metadata
import io
import logging

import boto3
import pytest
from crhelper import CfnResource, log_helper, resource_helper

import cfn_resource
import index
import protocol
from handler_support import (
    ACCOUNT,
    OTHER_REGION,
    REGION,
    SIGNATURE,
    V1,
    V2,
    CloudFormation,
    override,
    rds_calls,
    records,
)
from rds_override_local import rds_emulator as emulator


class TestCreate:
    def test_sets_the_override_and_answers_the_attributes(self, cfn: CloudFormation) -> None:
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "SUCCESS"
        assert override() == "rds-ca-rsa4096-g1"
        assert answer["PhysicalResourceId"].startswith("rds-certificate-override:v1:eu-west-1:-:")
        assert "rds-ca-rsa4096-g1" not in answer["PhysicalResourceId"]
        assert answer["Data"] == {
            "CertificateIdentifier": "rds-ca-rsa4096-g1",
            "CertificateArn": "arn:aws:rds:eu-west-1::cert:rds-ca-rsa4096-g1",
            "CertificateType": "CA",
            "Thumbprint": answer["Data"]["Thumbprint"],
            "ValidFrom": "2021-05-24T22:03:20Z",
            "ValidTill": "2121-05-24T23:03:20Z",
            "CustomerOverrideValidTill": "2121-05-24T23:03:20Z",
            "Region": "eu-west-1",
            "PreviousCertificateIdentifier": "",
        }
        assert len(answer["Data"]["Thumbprint"]) == 40
        assert rds_calls() == [(REGION, "DescribeCertificates"), (REGION, "ModifyCertificates")]

    def test_records_the_override_that_stood_before(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa2048-g1")
        answer = cfn.send("Create", V1).answer
        assert answer["Data"]["PreviousCertificateIdentifier"] == "rds-ca-rsa2048-g1"
        assert ":rds-ca-rsa2048-g1:" in answer["PhysicalResourceId"]

    def test_an_override_already_standing_is_not_set_again(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa4096-g1")
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "SUCCESS"
        assert answer["Data"]["CustomerOverrideValidTill"] == "2121-05-24T23:03:20Z"
        assert rds_calls() == [(REGION, "DescribeCertificates")]

    def test_manages_another_region(self, cfn: CloudFormation) -> None:
        answer = cfn.send("Create", {**V1, "Region": OTHER_REGION}).answer
        assert answer["Status"] == "SUCCESS"
        assert override(OTHER_REGION) == "rds-ca-rsa4096-g1"
        assert override(REGION) is None
        assert answer["Data"]["CertificateArn"] == "arn:aws:rds:us-east-1::cert:rds-ca-rsa4096-g1"

    def test_validates_against_the_regions_own_certificates(self, cfn: CloudFormation) -> None:
        emulator.add_certificate(
            ACCOUNT,
            OTHER_REGION,
            "rds-ca-rsa2048-g1-us-east-1",
            valid_from=emulator.DEFAULT_CATALOG[0].valid_from,
            valid_till=emulator.DEFAULT_CATALOG[0].valid_till,
        )
        regional = {"CertificateIdentifier": "rds-ca-rsa2048-g1-us-east-1"}
        assert cfn.send("Create", {**regional, "Region": OTHER_REGION}).answer["Status"] == "SUCCESS"
        failed = cfn.send("Create", {**regional, "Region": REGION}).answer
        assert failed["Status"] == "FAILED"
        assert "'rds-ca-rsa2048-g1-us-east-1' is not an RDS CA certificate" in failed["Reason"]

    def test_unknown_certificate_fails_and_changes_nothing(self, cfn: CloudFormation) -> None:
        answer = cfn.send("Create", {"CertificateIdentifier": "rds-ca-rsa4096-g2"}).answer
        assert answer["Status"] == "FAILED"
        assert answer["Reason"] == (
            "CertificateIdentifier 'rds-ca-rsa4096-g2' is not an RDS CA certificate in this region: "
            "valid choices are rds-ca-ecc384-g1, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1"
        )
        # Nothing was recorded or written: the id says so, and the rollback Delete has nothing to undo.
        assert (
            answer["PhysicalResourceId"] == f"rds-certificate-override:nothing-changed:{answer['RequestId']}"
        )
        assert answer["Data"] == {}
        assert override() is None
        assert rds_calls() == [(REGION, "DescribeCertificates")]

    def test_expired_certificate_fails_saying_when(self, cfn: CloudFormation) -> None:
        answer = cfn.send("Create", {"CertificateIdentifier": "rds-ca-2019"}).answer
        assert answer["Status"] == "FAILED"
        assert "'rds-ca-2019' expired on 2024-08-22T17:08:50Z" in answer["Reason"]
        assert override() is None

    @pytest.mark.parametrize(
        ("properties", "reason"),
        [
            ({"CertificateIdentifer": "rds-ca-rsa4096-g1"}, "Unknown property CertificateIdentifer: valid"),
            ({}, "CertificateIdentifier is required"),
            ({**V1, "RestorePreviousOnDelete": "yes"}, "RestorePreviousOnDelete must be true or false"),
            ({**V1, "Region": "eu-west-9"}, "'eu-west-9' is not a region where RDS is available"),
        ],
    )
    def test_bad_properties_fail_before_any_rds_call(
        self, cfn: CloudFormation, properties: dict[str, str], reason: str
    ) -> None:
        answer = cfn.send("Create", properties).answer
        assert answer["Status"] == "FAILED"
        assert reason in answer["Reason"]
        assert rds_calls() == []

    def test_json_booleans_are_accepted(self, cfn: CloudFormation) -> None:
        json_boolean = cfn.event("Create", V1)  # a template that passes JSON values, not strings
        json_boolean["ResourceProperties"]["RestorePreviousOnDelete"] = True
        answer = cfn.deliver(json_boolean).answer
        assert answer["Status"] == "SUCCESS"

    def test_the_same_create_delivered_twice_keeps_the_override(self, cfn: CloudFormation) -> None:
        first = cfn.send("Create", V1).answer
        second = cfn.send("Create", V1).answer
        assert (first["Status"], second["Status"]) == ("SUCCESS", "SUCCESS")
        assert override() == "rds-ca-rsa4096-g1"


class TestUpdate:
    def test_in_place_keeps_the_physical_id(self, cfn: CloudFormation) -> None:
        created = cfn.send("Create", V1).answer
        updated = cfn.send("Update", V2, physical_id=created["PhysicalResourceId"], old_properties=V1).answer
        assert updated["Status"] == "SUCCESS"
        assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
        assert updated["Data"]["CertificateIdentifier"] == "rds-ca-ecc384-g1"
        assert override() == "rds-ca-ecc384-g1"
        assert len(rds_calls()) == 2

    def test_region_change_is_a_replacement_and_the_old_delete_cleans_the_old_region(
        self, cfn: CloudFormation
    ) -> None:
        created = cfn.send("Create", V1).answer
        moved = {**V1, "Region": OTHER_REGION}
        updated = cfn.send(
            "Update", moved, physical_id=created["PhysicalResourceId"], old_properties=V1
        ).answer
        assert updated["Status"] == "SUCCESS"
        assert updated["PhysicalResourceId"] != created["PhysicalResourceId"]
        assert ":us-east-1:" in updated["PhysicalResourceId"]
        assert (override(REGION), override(OTHER_REGION)) == ("rds-ca-rsa4096-g1", "rds-ca-rsa4096-g1")
        # CloudFormation then deletes the old physical id, with the old properties.
        cleanup = cfn.send("Delete", V1, physical_id=created["PhysicalResourceId"]).answer
        assert cleanup["Status"] == "SUCCESS"
        assert (override(REGION), override(OTHER_REGION)) == (None, "rds-ca-rsa4096-g1")

    def test_a_failed_update_then_its_rollback(self, cfn: CloudFormation) -> None:
        created = cfn.send("Create", V1).answer
        physical_id = created["PhysicalResourceId"]
        bad = {"CertificateIdentifier": "rds-ca-2019"}
        failed = cfn.send("Update", bad, physical_id=physical_id, old_properties=V1).answer
        assert failed["Status"] == "FAILED"
        assert failed["PhysicalResourceId"] == physical_id
        assert override() == "rds-ca-rsa4096-g1"
        rollback = cfn.send("Update", V1, physical_id=physical_id, old_properties=bad).answer
        assert rollback["Status"] == "SUCCESS"
        assert rollback["PhysicalResourceId"] == physical_id
        assert override() == "rds-ca-rsa4096-g1"

    def test_rollback_of_a_successful_update(self, cfn: CloudFormation) -> None:
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        cfn.send("Update", V2, physical_id=physical_id, old_properties=V1)
        rollback = cfn.send("Update", V1, physical_id=physical_id, old_properties=V2).answer
        assert rollback["Status"] == "SUCCESS"
        assert override() == "rds-ca-rsa4096-g1"

    def test_update_of_a_resource_this_version_did_not_create_replaces_it(self, cfn: CloudFormation) -> None:
        answer = cfn.send("Update", V1, physical_id="Override-1A2B3C", old_properties=V1).answer
        assert answer["Status"] == "SUCCESS"
        assert answer["PhysicalResourceId"].startswith("rds-certificate-override:v1:eu-west-1:")


class TestDelete:
    def test_removes_the_override_it_set(self, cfn: CloudFormation) -> None:
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        answer = cfn.send("Delete", V1, physical_id=physical_id).answer
        assert answer["Status"] == "SUCCESS"
        assert answer["PhysicalResourceId"] == physical_id
        assert override() is None
        assert rds_calls() == [(REGION, "DescribeCertificates"), (REGION, "ModifyCertificates")]

    def test_after_a_failed_create_when_the_same_id_already_stood(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa4096-g1")  # someone else's
        failed = cfn.send("Create", {**V1, "Regoin": "eu-west-1"}).answer
        assert failed["Status"] == "FAILED"
        answer = cfn.send(
            "Delete", {**V1, "Regoin": "eu-west-1"}, physical_id=failed["PhysicalResourceId"]
        ).answer
        assert answer["Status"] == "SUCCESS"
        assert answer["PhysicalResourceId"] == failed["PhysicalResourceId"]
        assert override() == "rds-ca-rsa4096-g1"
        assert rds_calls() == []

    @pytest.mark.parametrize("placeholder", ["Override", "stack-Override-1A2B3C4D5E6F"])
    def test_a_placeholder_physical_id_changes_nothing(self, cfn: CloudFormation, placeholder: str) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa4096-g1")
        assert cfn.send("Delete", V1, physical_id=placeholder).answer["Status"] == "SUCCESS"
        assert override() == "rds-ca-rsa4096-g1"

    def test_an_out_of_band_change_is_left_with_a_warning(
        self, cfn: CloudFormation, json_logs: io.StringIO
    ) -> None:
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        emulator.set_override(ACCOUNT, REGION, "rds-ca-ecc384-g1")  # by hand, outside the stack
        answer = cfn.send("Delete", V1, physical_id=physical_id).answer
        assert answer["Status"] == "SUCCESS"
        assert override() == "rds-ca-ecc384-g1"
        (warning,) = records(json_logs, "WARNING")
        assert "changed outside this resource" in warning["message"]
        assert warning["request_type"] == "Delete"

    def test_with_no_override_standing(self, cfn: CloudFormation) -> None:
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        emulator.set_override(ACCOUNT, REGION, None)
        assert cfn.send("Delete", V1, physical_id=physical_id).answer["Status"] == "SUCCESS"
        assert override() is None
        assert rds_calls() == [(REGION, "DescribeCertificates")]

    def test_restores_the_previous_override(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa2048-g1")
        restoring = {**V1, "RestorePreviousOnDelete": "True"}
        physical_id = cfn.send("Create", restoring).answer["PhysicalResourceId"]
        assert override() == "rds-ca-rsa4096-g1"
        assert cfn.send("Delete", restoring, physical_id=physical_id).answer["Status"] == "SUCCESS"
        assert override() == "rds-ca-rsa2048-g1"

    def test_restore_with_no_previous_override_removes(self, cfn: CloudFormation) -> None:
        restoring = {**V1, "RestorePreviousOnDelete": "true"}
        physical_id = cfn.send("Create", restoring).answer["PhysicalResourceId"]
        cfn.send("Delete", restoring, physical_id=physical_id)
        assert override() is None

    def test_default_removes_even_when_an_override_stood_before(self, cfn: CloudFormation) -> None:
        emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa2048-g1")
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        cfn.send("Delete", V1, physical_id=physical_id)
        assert override() is None

    def test_a_real_api_failure_fails_the_delete(self, cfn: CloudFormation) -> None:
        physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
        emulator.inject_fault("ModifyCertificates", code="AccessDenied", status=403, count=None)
        answer = cfn.send("Delete", V1, physical_id=physical_id).answer
        assert answer["Status"] == "FAILED"
        assert "AccessDenied" in answer["Reason"]
        assert answer["PhysicalResourceId"] == physical_id


class TestResilience:
    def test_throttling_is_retried(self, cfn: CloudFormation) -> None:
        emulator.inject_fault("DescribeCertificates", code="Throttling", status=400, count=2)
        emulator.inject_fault("ModifyCertificates", code="ThrottlingException", status=400, count=1)
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "SUCCESS"
        assert override() == "rds-ca-rsa4096-g1"
        assert [action for _, action in rds_calls()] == ["DescribeCertificates"] * 3 + [
            "ModifyCertificates"
        ] * 2

    def test_throttling_beyond_the_retry_budget_fails_clearly(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        emulator.inject_fault("DescribeCertificates", code="Throttling", status=400, count=None)
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert "Throttling" in answer["Reason"]
        assert "DescribeCertificates" in answer["Reason"]
        assert override() is None

    def test_near_timeout_answers_failed_once_with_a_physical_id(self, cfn: CloudFormation) -> None:
        emulator.inject_delay("DescribeCertificates", 1.5)
        cfn.function.timeout_s = cfn_resource.TIMEOUT_MARGIN_SECONDS + 0.5
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert "about to time out" in answer["Reason"]
        assert answer["PhysicalResourceId"] == f"rds-certificate-override:create-failed:{answer['RequestId']}"

    def test_an_unexpected_error_becomes_failed(
        self, cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(region: str) -> None:
            raise RuntimeError("boom " + "x" * 10_000)

        monkeypatch.setattr(protocol.rds, "describe_certificates", broken)
        answer = cfn.send("Create", V1).answer
        assert answer["Status"] == "FAILED"
        assert answer["Reason"].startswith("boom xxx")
        assert len(answer["Reason"]) <= cfn_resource.MAX_REASON_CHARS


def test_the_response_url_never_reaches_a_log(
    cfn: CloudFormation,
    json_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With crhelper and botocore really logging at DEBUG (crhelper at DEBUG prints the whole event), for
    every request type and a failure, no log line holds the presigned URL."""
    # crhelper's log_helper.setup resets the levels at every request: keep it from undoing ours.
    monkeypatch.setattr(log_helper, "setup", lambda *_args, **_kwargs: None)
    caplog.set_level(logging.DEBUG)
    for name in ("crhelper", "botocore"):
        caplog.set_level(logging.DEBUG, logger=name)
    physical_id = cfn.send("Create", V1).answer["PhysicalResourceId"]
    cfn.send("Update", V2, physical_id=physical_id, old_properties=V1)
    cfn.send("Update", {"CertificateIdentifier": "nope"}, physical_id=physical_id, old_properties=V2)
    cfn.send("Delete", V2, physical_id=physical_id)
    cfn.send("Create", {"Unknown": "x"})
    logs = json_logs.getvalue() + caplog.text
    assert records(json_logs, "DEBUG"), "the test must see the function's DEBUG records"
    debug_from = {r.name.split(".")[0] for r in caplog.records if r.levelno == logging.DEBUG}
    assert {"crhelper", "botocore"} <= debug_from, "crhelper and botocore must really log at DEBUG"
    assert len([r for r in records(json_logs, "INFO") if r["message"] == "CloudFormation request"]) == 5
    assert SIGNATURE not in logs
    assert "X-Amz-Signature" not in logs


def test_crhelpers_private_names_this_project_relies_on() -> None:
    """cfn_resource.SafeCfnResource overrides or sets these private names of crhelper 2.0.12. When a
    crhelper upgrade fails here, re-check cfn_resource.py: the timer (_set_timeout, _timeout), the answer
    (_send, _event, _response_url, _context), the physical id (generate_physical_id), the polling clients
    (resource_helper.boto3, _lambda_client, _events_client, _logs_client) and the Delete sleep."""
    assert importlib.metadata.version("crhelper") == "2.0.12", "a new crhelper: re-check, then update this"
    for name in ("_set_timeout", "_timeout", "_send", "generate_physical_id", "_wrap_function"):
        assert callable(getattr(CfnResource, name, None)), f"crhelper.CfnResource.{name} is gone"
    helper = index.helper
    for attribute in ("_event", "_context", "_response_url", "_create_func", "_sleep_on_delete"):
        assert hasattr(helper, attribute), f"crhelper.CfnResource no longer sets {attribute}"
    assert hasattr(resource_helper, "boto3"), "crhelper.resource_helper no longer imports boto3"


def test_crhelper_builds_no_polling_clients_and_keeps_its_boto3() -> None:
    helper = index.helper
    assert (helper._lambda_client, helper._events_client, helper._logs_client) == (None, None, None)
    assert resource_helper.boto3 is boto3
