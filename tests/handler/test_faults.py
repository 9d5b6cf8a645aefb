"""Fault injection: each case checks that CloudFormation gets exactly the answer it should, and that no
override is lost or changed by mistake.

In-process cases use the `cfn` fixture (conftest.py); the others run the built artifact in fresh processes
through `LocalCloud` (rds_override_local.cloud), at DEBUG, and also check that no log line of any of
them holds the presigned ResponseURL.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from collections.abc import Iterator

import pytest

import cfn_resource
import index
from handler_support import ACCOUNT, REGION, V1, CloudFormation, override, rds_calls
from rds_override_local import rds_emulator as emulator
from rds_override_local import settings
from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.cloudformation import Invocation, ResponseServer

CODE_DIRS = [str(settings.ARTIFACT), str(settings.RUNTIME_SDK)]


# --- delivering the answer: cfn_resource.put_response against a local HTTPS ResponseURL -----------------


@pytest.fixture
def response_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseServer]:
    with ResponseServer() as server:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)
        monkeypatch.setattr(cfn_resource, "PUT_BACKOFF_SECONDS", (0.01, 0.01, 0.01))
        yield server


def body_for(request_id: str) -> bytes:
    event = {"RequestId": request_id, "StackId": "stack", "LogicalResourceId": "Override"}
    return cfn_resource.response_body(event, status="SUCCESS", physical_id="id")


@pytest.mark.parametrize("mode", ["http500", "reset"])
def test_a_transient_put_failure_is_retried_and_delivered(response_server: ResponseServer, mode: str) -> None:
    response_server.fail_next(2, mode)  # type: ignore[arg-type]
    url = response_server.response_url("r1")
    assert cfn_resource.put_response(url, body_for("r1")) is True
    assert response_server.failed_attempts("r1") == 2
    assert len(response_server.responses("r1")) == 1


def test_a_put_that_keeps_failing_gives_up_after_a_bounded_number_of_tries(
    response_server: ResponseServer,
) -> None:
    response_server.fail_next(100, "http500")
    started = time.monotonic()
    assert cfn_resource.put_response(response_server.response_url("r2"), body_for("r2")) is False
    assert response_server.failed_attempts("r2") == cfn_resource.PUT_ATTEMPTS
    assert time.monotonic() - started < 5


def test_a_rejected_put_is_not_retried(response_server: ResponseServer) -> None:
    url = response_server.response_url("r3").replace("Signature=", "Signature=forged")
    assert cfn_resource.put_response(url, body_for("r3")) is False
    assert [a.status for a in response_server.attempts("r3")] == [403]


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x", "file:///etc/passwd", ""])
def test_a_response_url_that_is_not_https_is_refused(url: str) -> None:
    assert cfn_resource.put_response(url, body_for("r5")) is False


def test_a_put_to_a_server_whose_certificate_is_not_trusted_is_refused(
    response_server: ResponseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the server's throwaway CA is no longer trusted
    assert cfn_resource.put_response(response_server.response_url("r6"), body_for("r6")) is False
    assert response_server.responses("r6") == []


def test_an_invalid_url_fails_the_put_without_reaching_a_log(caplog: pytest.LogCaptureFixture) -> None:
    """http.client.InvalidURL quotes the URL in its message: neither may reach a log."""
    caplog.set_level(logging.DEBUG)
    url = "https://127.0.0.1:9/bucket/a b?X-Amz-Signature=S3cr3tInAnInvalidUrl"
    assert cfn_resource.put_response(url, body_for("r7")) is False
    assert [getattr(record, "error", None) for record in caplog.records][:1] == ["InvalidURL"]
    assert "S3cr3tInAnInvalidUrl" not in caplog.text


def test_a_presigned_url_is_redacted_from_any_log_record(caplog: pytest.LogCaptureFixture) -> None:
    """The net under every path: whoever logs the URL, in a message or a traceback."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="crhelper")
    path = "/arn%3A stack?X-Amz-Credential=AKIA&X-Amz-Signature=S3cr3tLogged"
    url = f"https://bucket.s3.amazonaws.com{path}"
    logging.getLogger("crhelper.resource_helper").debug({"ResponseURL": url})  # as crhelper logs the event
    try:  # InvalidURL quotes the path, before any connection is made
        http.client.HTTPSConnection("127.0.0.1", 9).putrequest("PUT", path)
    except http.client.InvalidURL:
        logging.getLogger("any.library").exception("failed to open %s", url)
    assert "S3cr3tLogged" not in caplog.text
    assert "X-Amz-Credential" not in caplog.text
    assert caplog.text.count("<presigned query redacted>") == 3  # the event, the message, the traceback


def test_the_put_stops_retrying_at_the_deadline(response_server: ResponseServer) -> None:
    response_server.fail_next(100, "http500")
    deadline = time.monotonic() + 0.5
    cfn_resource.put_response(response_server.response_url("r4"), body_for("r4"), deadline=deadline)
    assert response_server.failed_attempts("r4") < cfn_resource.PUT_ATTEMPTS


# --- what the answer says ------------------------------------------------------------------------------


def test_a_10_kb_error_message_becomes_a_truncated_reason_in_a_valid_body(
    cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(region: str) -> None:
        raise RuntimeError("RDS said: " + "é" * 10_240)

    monkeypatch.setattr("rds_certificates.describe_certificates", fails)
    answer = cfn.send("Create", V1).answer  # handler_support checks: valid JSON, <= 4096 bytes, one answer
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("RDS said: ééé")
    assert answer["Reason"].endswith(cfn_resource.TRUNCATED)
    assert len(json.dumps(answer).encode()) <= cfn_resource.MAX_BODY_BYTES


@pytest.mark.parametrize("char", ["x", "é", '"', "\\", "\n", "日", "🙂"])
@pytest.mark.parametrize("length", [1_000, 1_100, 5_000, 100_000])
def test_any_reason_fits_in_a_valid_body(char: str, length: int) -> None:
    event = {"RequestId": "r" * 36, "StackId": "s" * 200, "LogicalResourceId": "l" * 255}
    body = cfn_resource.response_body(
        event, status="FAILED", physical_id="p" * 200, reason="why " + char * length
    )
    assert len(body) <= cfn_resource.MAX_BODY_BYTES
    assert json.loads(body)["Reason"].startswith("why " + char)


def test_data_too_large_for_a_response_turns_into_a_clear_failure() -> None:
    event = {"RequestId": "r", "StackId": "s", "LogicalResourceId": "l"}
    body = cfn_resource.response_body(event, status="SUCCESS", physical_id="id", data={"Big": "x" * 5000})
    answer = json.loads(body)
    assert len(body) <= cfn_resource.MAX_BODY_BYTES
    assert (answer["Status"], answer["Data"]) == ("FAILED", {})
    assert "response data is too large" in answer["Reason"]


def test_a_failed_answer_carries_no_data(cfn: CloudFormation, monkeypatch: pytest.MonkeyPatch) -> None:
    def fails_after_filling_the_attributes(_event: object, _context: object) -> str:
        index.helper.Data.update({"CertificateIdentifier": "rds-ca-rsa4096-g1"})
        raise RuntimeError("failed after the attributes were filled")

    monkeypatch.setattr(index.helper, "_create_func", fails_after_filling_the_attributes)
    answer = cfn.send("Create", V1).answer
    assert answer["Status"] == "FAILED"
    assert answer["Data"] == {}


def test_running_out_of_time_answers_at_least_4_s_before_the_deadline(cfn: CloudFormation) -> None:
    """An absolute bound: CloudFormation must get the answer while the PUT still has time to retry."""
    timeout_s = 6.0
    emulator.inject_delay("DescribeCertificates", timeout_s + 0.5)
    cfn.function.timeout_s = timeout_s
    started = time.monotonic()
    invocation = cfn.send("Create", V1)
    assert invocation.answer["Status"] == "FAILED"
    assert (started + timeout_s) - invocation.responses[0].received_at >= 4.0


# --- RDS misbehaving -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 400), ("InternalFailure", 500), ("ServiceUnavailable", 503)]
)
def test_a_burst_within_the_retry_budget_is_absorbed(cfn: CloudFormation, code: str, status: int) -> None:
    emulator.inject_fault("DescribeCertificates", code=code, status=status, count=3)
    emulator.inject_fault("ModifyCertificates", code=code, status=status, count=3)
    answer = cfn.send("Create", V1).answer
    assert answer["Status"] == "SUCCESS"
    assert override() == "rds-ca-rsa4096-g1"
    assert len(rds_calls()) == 8  # 4 attempts each, the 4th succeeding


@pytest.mark.parametrize(("code", "status"), [("Throttling", 400), ("ServiceUnavailable", 503)])
def test_a_burst_longer_than_the_retry_budget_fails_clearly_and_changes_nothing(
    cfn: CloudFormation, code: str, status: int
) -> None:
    emulator.set_override(ACCOUNT, REGION, "rds-ca-rsa2048-g1")
    emulator.inject_fault("ModifyCertificates", code=code, status=status, count=None)
    answer = cfn.send("Create", V1).answer
    assert answer["Status"] == "FAILED"
    assert f"An error occurred ({code}) when calling the ModifyCertificates operation" in answer["Reason"]
    assert "reached max retries: 4" in answer["Reason"]  # 5 attempts in all
    assert override() == "rds-ca-rsa2048-g1"


# --- CloudFormation misbehaving ------------------------------------------------------------------------


def test_the_same_create_delivered_twice_to_a_warm_instance_gets_the_same_answer(cfn: CloudFormation) -> None:
    event = cfn.event("Create", V1)
    first = cfn.deliver(event).answer
    second = cfn.deliver(event).answer
    assert second == first
    assert rds_calls() == [], "the second delivery must not touch RDS"
    assert override() == "rds-ca-rsa4096-g1"


# --- the built artifact, in fresh processes ------------------------------------------------------------


@pytest.fixture
def stack() -> Iterator[LocalCloud]:
    with local_cloud(CODE_DIRS, python=os.environ.get("RUNTIME_PYTHON") or None, log_level="DEBUG") as local:
        yield local


def assert_answered_without_leaking(stack: LocalCloud, invocation: Invocation) -> dict[str, object]:
    answer = invocation.answer  # exactly one, valid, with a physical id
    signature = stack.server.signature(invocation.request_id)
    assert signature
    assert signature not in invocation.logs
    assert "cloudformation-custom-resource-response" not in invocation.logs
    return answer


def test_running_out_of_time_answers_failed_before_the_deadline(stack: LocalCloud) -> None:
    stack.function.timeout_s = cfn_resource.TIMEOUT_MARGIN_SECONDS + 2
    emulator.inject_delay("DescribeCertificates", stack.function.timeout_s + 1)
    invocation = stack.demo_stack.send("Create", V1)
    answer = assert_answered_without_leaking(stack, invocation)
    assert answer["Status"] == "FAILED"
    assert "about to time out" in str(answer["Reason"])
    assert str(answer["PhysicalResourceId"]).startswith("rds-certificate-override:create-failed:")
    assert stack.default_ca().certificate == "rds-ca-rsa2048-g1"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "AWS_REGION is not set"),
        ({"POWERTOOLS_LOG_LEVEL": "VERBOSE"}, "Bad log level setting"),
    ],
)
def test_an_init_failure_answers_failed(stack: LocalCloud, env: dict[str, str], reason: str) -> None:
    for request_type, physical_id in (
        ("Create", None),
        ("Delete", "rds-certificate-override:v1:eu-west-1:-:ab"),
    ):
        invocation = stack.demo_stack.send(request_type, V1, physical_id=physical_id, env=env)
        answer = assert_answered_without_leaking(stack, invocation)
        assert answer["Status"] == "FAILED"
        assert reason in str(answer["Reason"])
        if physical_id:
            assert answer["PhysicalResourceId"] == physical_id
    assert stack.rds_calls() == []


def test_a_failed_put_from_the_function_is_retried(stack: LocalCloud) -> None:
    stack.server.fail_next(1, "http500")
    stack.server.fail_next(1, "reset")
    invocation = stack.demo_stack.send("Create", V1)
    assert assert_answered_without_leaking(stack, invocation)["Status"] == "SUCCESS"
    assert stack.server.failed_attempts(invocation.request_id) == 2


def test_the_same_create_delivered_twice_to_cold_instances_keeps_the_override(stack: LocalCloud) -> None:
    first = stack.demo_stack.send("Create", V1)
    second = stack.demo_stack.send("Create", V1)
    for invocation in (first, second):
        assert assert_answered_without_leaking(stack, invocation)["Status"] == "SUCCESS"
    assert stack.rds_calls() == [(REGION, "DescribeCertificates")], (
        "the override already stands: nothing to modify"
    )
    assert stack.default_ca().certificate == "rds-ca-rsa4096-g1"


def test_a_placeholder_delete_while_a_create_is_in_flight_waits_for_it_and_undoes_it(
    stack: LocalCloud,
) -> None:
    """CloudFormation stopped waiting for the Create and deletes the resource under an id of its own: the
    Create may still write. The Delete waits for the region's lock, which the Create holds, then undoes
    what the Create did: CloudFormation will never hold this resource as created."""
    emulator.inject_delay("DescribeCertificates", 2.0)  # the Create's first call
    created: list[Invocation] = []
    create = threading.Thread(target=lambda: created.append(stack.demo_stack.send("Create", V1)))
    create.start()
    time.sleep(1.0)
    deleted = stack.demo_stack.send("Delete", V1, physical_id="Override")
    create.join()
    assert assert_answered_without_leaking(stack, deleted)["Status"] == "SUCCESS"
    assert assert_answered_without_leaking(stack, created[0])["Status"] == "SUCCESS"
    assert stack.default_ca().certificate == "rds-ca-rsa2048-g1", "the system default: the override is gone"
