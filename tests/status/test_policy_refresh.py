"""The Guard Hook's data refresh function (rds_override_tools.policy_refresh, policy/guard-hook.yaml's
RefreshFunction) on moto with the RDS emulator: the schedule and CloudFormation's custom resource events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from status_support import CALLER_ACCOUNT, HOME, Account

from rds_override_tools import policy_refresh

BUCKET = "rds-ca-policy"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Any:
    s3 = boto3.client("s3", region_name=HOME)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": HOME})
    monkeypatch.setenv("BUCKET", BUCKET)
    monkeypatch.setenv("AWS_REGION", HOME)
    monkeypatch.setenv("DAYS", "45")
    return s3


@pytest.fixture
def cloudformation_answers() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local stand-in for the presigned ResponseURL: (its URL, the answers PUT to it)."""
    answers: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/answer", answers
    server.shutdown()


def read(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def test_the_schedule_writes_the_rules_and_the_data(caller: Account, bucket: Any) -> None:
    caller.declare(HOME, caller.create_stack("team-a"), "rds-ca-rsa4096-g1")
    assert policy_refresh.handler({"source": "aws.events"}, None) == {"written": policy_refresh.DATA_KEY}
    data = json.loads(read(bucket, policy_refresh.DATA_KEY))
    assert (data["RdsCaAccount"], data["RdsCaRegion"], data["RdsCaHorizon"]["Days"]) == (
        CALLER_ACCOUNT,
        HOME,
        45,
    )
    assert data["RdsCaDefault"]["SetBy"] == "declared"
    for name, key in policy_refresh.RULE_KEYS.items():
        assert read(bucket, key) == (ROOT / "policy" / name).read_bytes()


def event(request_type: str, url: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{HOME}:{CALLER_ACCOUNT}:stack/hook/"
        "5e2c4f00-0000-0000-0000-0123456789ab",
        "RequestId": "r-1",
        "LogicalResourceId": "PolicyData",
        "ResourceType": "Custom::RdsCaPolicyData",
        "ResourceProperties": {},
    }


def test_create_writes_then_answers_and_delete_removes(
    caller: Account, bucket: Any, cloudformation_answers: tuple[str, list[dict[str, Any]]]
) -> None:
    url, answers = cloudformation_answers
    policy_refresh.handler(event("Create", url), None)
    assert json.loads(read(bucket, policy_refresh.DATA_KEY))["RdsCaRegion"] == HOME
    created = {**event("Delete", url), "PhysicalResourceId": answers[0]["PhysicalResourceId"]}
    policy_refresh.handler(created, None)
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [
        ("SUCCESS", "rds-ca-policy-data-0123456789ab"),
        ("SUCCESS", "rds-ca-policy-data-0123456789ab"),
    ]
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_failure_answers_failed_with_the_reason(
    caller: Account,
    bucket: Any,
    cloudformation_answers: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, answers = cloudformation_answers
    monkeypatch.setenv("BUCKET", "no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        policy_refresh.handler(event("Update", url), None)
    [answer] = answers
    assert answer["Status"] == "FAILED"
    assert "NoSuchBucket" in answer["Reason"]
