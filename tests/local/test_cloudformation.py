"""Tests of the local stand-in for CloudFormation (rds_override_local.cloudformation), with a throwaway
handler."""

from __future__ import annotations

import json
import re
import signal
import ssl
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rds_override_local import lambda_runner, settings
from rds_override_local.cloudformation import (
    CloudFormation,
    FreshProcessFunction,
    InProcessFunction,
    ResponseServer,
    UnacceptableAnswer,
    cfn_stringify,
    fresh_process,
    make_event,
)

# A handler that answers CloudFormation itself, with urllib and the default SSL context (so it must trust
# SSL_CERT_FILE), and reports what it saw in the response's Data. ResourceProperties.Mode picks a behaviour.
HANDLER = textwrap.dedent(
    """
    import importlib.util, json, os, sys, time, urllib.error, urllib.request

    def put(url, body, content_type=""):
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": content_type}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def handler(event, context):
        mode = event["ResourceProperties"].get("Mode", "answer")
        if mode == "raise":
            raise RuntimeError("boom")
        if mode == "sleep":
            time.sleep(30)
        body = {
            "Status": "SUCCESS",
            "PhysicalResourceId": "fixed-id",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {
                "Properties": event["ResourceProperties"],
                "Profile": os.environ.get("AWS_PROFILE"),
                "SecretKey": os.environ.get("AWS_SECRET_ACCESS_KEY"),
                "SessionToken": os.environ.get("AWS_SESSION_TOKEN"),
                "CredentialsFile": os.environ.get("AWS_SHARED_CREDENTIALS_FILE"),
                "SysPath": sys.path,
                "PytestVisible": importlib.util.find_spec("pytest") is not None,
                "Context": {
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "aws_request_id": context.aws_request_id,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                },
            },
        }
        if mode == "json-content-type":
            put(event["ResponseURL"], body, content_type="application/json")
        elif mode == "double":
            put(event["ResponseURL"], body)
            put(event["ResponseURL"], body)
        else:
            for attempt in range(1, 4):
                body["Data"]["Attempt"] = attempt
                try:
                    put(event["ResponseURL"], body)
                    return
                except (urllib.error.URLError, ConnectionError) as error:
                    print(f"attempt {attempt} failed: {error!r}")
            raise RuntimeError("could not answer CloudFormation")
    """
)

ENV = {
    "AWS_REGION": settings.REGION,
    **settings.DUMMY_CREDENTIALS,
}


@pytest.fixture
def server() -> Iterator[ResponseServer]:
    with ResponseServer() as response_server:
        yield response_server


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(HANDLER)
    return tmp_path / "fn"


def run(server: ResponseServer, code_dir: Path, mode: str = "answer", **kwargs: Any) -> Any:
    """Invoke the throwaway handler with a Create request."""
    request_id = str(uuid.uuid4())
    event = make_event("Create", {"Mode": mode}, response_url=server.response_url(request_id))
    return fresh_process.invoke(event, server=server, code_dirs=[code_dir], env=ENV, **kwargs)


# -- make_event --------------------------------------------------------------------------------------------


def test_make_event_sends_every_property_value_as_a_string() -> None:
    event = make_event(
        "Create",
        {
            "Enabled": True,
            "Off": False,
            "Timeout": 300,
            "Ratio": 1.5,
            "Ids": [1, "a"],
            "Nested": {"N": 2},
            "X": None,
        },
        response_url="https://example.invalid/b/req-1",
    )

    assert event["ResourceProperties"] == {
        "ServiceToken": event["ServiceToken"],
        "Enabled": "true",
        "Off": "false",
        "Timeout": "300",
        "Ratio": "1.5",
        "Ids": ["1", "a"],
        "Nested": {"N": "2"},
    }
    with pytest.raises(TypeError):
        cfn_stringify({"When": object()})


def test_make_event_shapes_each_request_type() -> None:
    url = "https://example.invalid/bucket/arn%3Aaws%3Acloudformation%7COverride%7Creq-42"

    create = make_event("Create", {"A": 1}, response_url=url)
    update = make_event("Update", {"A": 2}, physical_id="pid", old_properties={"A": 1}, response_url=url)
    delete = make_event("Delete", {"A": 2}, physical_id="pid", response_url=url, request_id="own-id")

    assert create["RequestId"] == "req-42"  # taken from the response URL's key, as CloudFormation's ends
    assert "PhysicalResourceId" not in create
    assert "OldResourceProperties" not in create
    assert update["PhysicalResourceId"] == "pid"
    assert update["OldResourceProperties"] == {"ServiceToken": update["ServiceToken"], "A": "1"}
    assert delete["RequestId"] == "own-id"
    assert "OldResourceProperties" not in delete
    for event in (create, update, delete):
        assert event["ResponseURL"] == url
        assert event["ResourceType"] == "Custom::RdsCertificateOverride"
        assert event["LogicalResourceId"] == "Override"
        assert event["StackId"].startswith("arn:aws:cloudformation:")


@pytest.mark.parametrize(
    ("request_type", "kwargs"),
    [
        ("Create", {"physical_id": "pid"}),
        ("Update", {"physical_id": "pid"}),
        ("Update", {"old_properties": {}}),
        ("Delete", {}),
        ("Delete", {"physical_id": "pid", "old_properties": {}}),
        ("Replace", {}),
    ],
)
def test_make_event_refuses_what_cloudformation_never_sends(
    request_type: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        make_event(request_type, {}, response_url="https://example.invalid/b/k", **kwargs)


# -- ResponseServer ----------------------------------------------------------------------------------------


def test_response_url_is_shaped_like_a_presigned_s3_url(server: ResponseServer) -> None:
    url = server.response_url("req-1")

    assert re.fullmatch(
        rf"https://127\.0\.0\.1:{server.port}/cloudformation-custom-resource-response-euwest1/req-1"
        r"\?AWSAccessKeyId=AKIA[A-Z0-9]{16}&Expires=\d{10}&Signature=[A-Za-z0-9]{20,}",
        url,
    )
    assert url.endswith(f"Signature={server.signature('req-1')}")
    assert server.response_url("req-1") == url
    assert server.response_url("req-2") != url.replace("req-1", "req-2")  # each URL has its own secret


def test_server_accepts_only_what_s3_would(server: ResponseServer) -> None:
    context = ssl.create_default_context(cafile=server.ca_file)
    good = server.response_url("req-1")

    def put(url: str, content_type: str = "") -> int:
        request = urllib.request.Request(url, data=b'{"Status": "SUCCESS"}', method="PUT")  # noqa: S310
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    assert put(good.replace(server.signature("req-1") or "", "forged")) == 403
    assert put(good, content_type="application/json") == 403  # signed with an empty Content-Type
    assert put(good.replace("req-1", "never-issued")) == 403
    assert server.response_for("req-1") is None
    assert put(good) == 200
    assert server.response_for("req-1") == {"Status": "SUCCESS"}
    assert server.responses("req-1")[0].size == len(b'{"Status": "SUCCESS"}')
    assert [a.outcome for a in server.attempts("req-1")] == [
        "SignatureDoesNotMatch",
        "SignatureDoesNotMatch",
        "recorded",
    ]


# -- invoke ------------------------------------------------------------------------------------------------


def test_invoke_runs_the_handler_in_a_fresh_process_and_returns_its_answer(
    server: ResponseServer, code_dir: Path
) -> None:
    result = run(server, code_dir, timeout_s=30, function_name="fn-under-test", memory_mb=256)

    assert result.returncode == lambda_runner.EXIT_OK, result.logs
    assert result.status == "SUCCESS"
    assert result.response["RequestId"] == result.request_id
    assert len(result.responses) == 1
    data = result.response["Data"]
    assert data["Properties"]["Mode"] == "answer"
    context = data["Context"]
    assert context["function_name"] == "fn-under-test"
    assert context["memory_limit_in_mb"] == "256"
    assert context["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:fn-under-test"
    assert context["log_group_name"] == "/aws/lambda/fn-under-test"
    assert context["log_stream_name"]
    assert uuid.UUID(context["aws_request_id"])
    assert 25_000 < context["remaining_ms"] <= 30_000
    # Only its own code and the standard library: not the dev venv, not the runner's own package.
    assert data["SysPath"][0] == str(code_dir.resolve())
    assert not data["PytestVisible"]
    assert str(Path(lambda_runner.__file__).resolve().parent) not in data["SysPath"]
    assert f"REPORT RequestId: {context['aws_request_id']}" in result.stdout
    assert result.init_ms is not None
    assert result.duration_ms is not None
    assert not result.timed_out


def test_invoke_does_not_leak_the_parent_aws_environment(
    server: ResponseServer, code_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "parent-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "parent-token")

    data = run(server, code_dir).response["Data"]

    assert data["Profile"] is None
    assert data["SessionToken"] is None
    assert data["SecretKey"] == "testing"  # the caller's env, not the parent's
    assert data["CredentialsFile"] is not None  # no ~/.aws/credentials either


@pytest.mark.parametrize("mode", ["http500", "reset"])
def test_fail_next_fails_attempts_without_recording_them(
    server: ResponseServer, code_dir: Path, mode: str
) -> None:
    server.fail_next(2, mode)  # type: ignore[arg-type]

    result = run(server, code_dir)

    assert result.returncode == lambda_runner.EXIT_OK, result.logs
    assert result.response["Data"]["Attempt"] == 3
    assert len(result.responses) == 1
    assert server.failed_attempts(result.request_id) == 2
    assert [a.outcome for a in server.attempts(result.request_id)] == [mode, mode, "recorded"]


def test_a_handler_that_raises_exits_non_zero_without_an_answer(
    server: ResponseServer, code_dir: Path
) -> None:
    result = run(server, code_dir, mode="raise")

    assert result.returncode == lambda_runner.EXIT_HANDLER_ERROR
    assert result.response is None
    assert result.responses == []
    assert "RuntimeError: boom" in result.stderr


def test_a_content_type_breaks_the_presigned_signature(server: ResponseServer, code_dir: Path) -> None:
    result = run(server, code_dir, mode="json-content-type")

    assert result.returncode == lambda_runner.EXIT_HANDLER_ERROR  # urllib raised HTTPError 403
    assert result.response is None
    assert [a.status for a in server.attempts(result.request_id)] == [403]


def test_a_double_answer_is_recorded_twice(server: ResponseServer, code_dir: Path) -> None:
    result = run(server, code_dir, mode="double")

    assert len(result.responses) == 2
    assert result.response == json.loads(result.responses[0].raw)


def test_the_runner_stops_the_handler_at_the_function_timeout(server: ResponseServer, code_dir: Path) -> None:
    result = run(server, code_dir, mode="sleep", timeout_s=1)

    assert result.timed_out
    assert result.returncode == lambda_runner.EXIT_TIMED_OUT
    assert result.response is None
    assert "Task timed out after 1.00 seconds" in result.stdout
    assert result.wall_s < 5


def test_the_driver_kills_a_process_that_overruns_its_allowance(
    server: ResponseServer, code_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (code_dir / "stuck.py").write_text("import time\ntime.sleep(30)\ndef handler(event, context): pass\n")
    monkeypatch.setattr(fresh_process, "INIT_ALLOWANCE_S", 0.5)

    result = run(server, code_dir, handler="stuck.handler", timeout_s=0.5)

    assert result.timed_out
    assert result.returncode == -signal.SIGKILL
    assert result.response is None
    assert result.wall_s < 5


# -- CloudFormation: one API, two deliveries ---------------------------------------------------------------


def answering(function: InProcessFunction, *bodies: dict[str, Any]) -> Callable[[dict[str, Any], Any], None]:
    """A handler that PUTs each of `bodies` (RequestId filled in) through the in-process function."""

    def handler(event: dict[str, Any], context: Any) -> None:
        for body in bodies:
            answer = {"RequestId": event["RequestId"], **body}
            assert function.put_response(event["ResponseURL"], json.dumps(answer).encode())

    return handler


def test_send_delivers_in_process_and_returns_the_checked_answer() -> None:
    function = InProcessFunction(lambda event, context: None)
    function.handler = answering(function, {"Status": "SUCCESS", "PhysicalResourceId": "pid"})
    cloudformation = CloudFormation(function, logical_id="Mine")

    update = cloudformation.event("Update", {"A": 1}, physical_id="pid", old_properties={"A": 0})
    invocation = cloudformation.deliver(update)

    assert invocation.answer == {
        "RequestId": update["RequestId"],
        "Status": "SUCCESS",
        "PhysicalResourceId": "pid",
    }
    assert update["LogicalResourceId"] == "Mine"
    assert update["ResourceProperties"]["ServiceTimeout"] == "300"  # as the template declares it
    assert update["OldResourceProperties"]["ServiceTimeout"] == "300"
    assert function.signature(update["RequestId"]) in update["ResponseURL"]
    assert cloudformation.rds_calls() == []


@pytest.mark.parametrize(
    ("bodies", "problem"),
    [
        ((), "exactly one answer, got 0"),
        (({"Status": "SUCCESS", "PhysicalResourceId": "a"},) * 2, "exactly one answer, got 2"),
        (({"Status": "SUCCESS", "PhysicalResourceId": ""},), "empty PhysicalResourceId"),
        (({"Status": "SUCCESS", "PhysicalResourceId": "a", "Data": {"Big": "x" * 5000}},), "over 4096"),
    ],
)
def test_an_answer_cloudformation_would_not_take_is_reported(
    bodies: tuple[dict[str, Any], ...], problem: str
) -> None:
    function = InProcessFunction(lambda event, context: None)
    function.handler = answering(function, *bodies)

    invocation = CloudFormation(function).send("Create", {"A": 1})
    with pytest.raises(UnacceptableAnswer, match=problem):
        _ = invocation.answer
    with pytest.raises(UnacceptableAnswer, match=problem):
        CloudFormation(function, check_answers=True).send("Create", {"A": 1})


def test_the_in_process_function_refuses_urls_it_did_not_issue_and_a_per_request_environment() -> None:
    function = InProcessFunction(lambda event, context: None)
    url = function.response_url("r1")
    assert function.put_response(url, b"{}") is True
    assert function.put_response(url.replace("X-Amz-Signature=", "X-Amz-Signature=forged"), b"{}") is False
    with pytest.raises(ValueError, match=r"reads this process's environment: set \['AWS_REGION'\] there"):
        CloudFormation(function).send("Create", {}, env={"AWS_REGION": ""})


def test_send_delivers_to_a_fresh_process_the_same_way(server: ResponseServer, code_dir: Path) -> None:
    function = FreshProcessFunction(server, [str(code_dir)], env=ENV, timeout_s=30)
    invocation = CloudFormation(function).send("Create", {"Mode": "answer"})
    assert invocation.answer["PhysicalResourceId"] == "fixed-id"
    assert invocation.answer["Data"]["Properties"]["ServiceTimeout"] == "300"
    assert invocation.returncode == lambda_runner.EXIT_OK
