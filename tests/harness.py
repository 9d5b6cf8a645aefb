"""In-process harness for the handler tests: CloudFormation events in, the PUT answers out.

`app.handler` runs in this process under moto's mock_aws with the RDS certificate emulator; the answer it
would PUT to the ResponseURL is captured at `cfn_resource.put_response`.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import boto3

import app
import cfn_resource
import moto_rds_certificates as emulator
from cfn_driver import make_event
from lambda_runner import LambdaContext

ACCOUNT = emulator.DEFAULT_ACCOUNT_ID
REGION = "eu-west-1"  # the function's region (tests/conftest.py)
OTHER_REGION = "us-east-1"
SIGNATURE = "S3cr3tSignatureThatMustNeverBeLogged"
# The function's timeout as deployed (template.yaml, Globals.Function.Timeout).
FUNCTION_TIMEOUT_S = float(
    re.search(r"^    Timeout: (\d+)$", (Path(__file__).parents[1] / "template.yaml").read_text(), re.M)[1]  # type: ignore[index]
)
V1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1"}
V2 = {"CertificateIdentifier": "rds-ca-ecc384-g1"}


_STACK_TEMPLATE = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})


def create_stack(name: str, region: str = REGION) -> str:
    """A stack in moto's CloudFormation, so that the function can tell it is live (DescribeStacks): its
    StackId is what the events of its resources carry."""
    with warnings.catch_warnings():  # moto does not model WaitConditionHandle, and says so
        warnings.simplefilter("ignore", UserWarning)
        return boto3.client("cloudformation", region_name=region).create_stack(
            StackName=name, TemplateBody=_STACK_TEMPLATE
        )["StackId"]


def delete_stack(stack_id: str) -> None:
    """The stack is deleted without a Delete event for the override (DeletionPolicy: Retain)."""
    region = stack_id.split(":")[3]
    boto3.client("cloudformation", region_name=region).delete_stack(StackName=stack_id)


def ledger(region: str = REGION) -> dict[str, dict[str, Any]]:
    """The declarations recorded for the region, by parameter name."""
    ssm = boto3.client("ssm", region_name=region)
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/rds-certificate-override/declarations", Recursive=True
    )
    return {p["Name"]: json.loads(p["Value"]) for page in pages for p in page["Parameters"]}


def override(region: str = REGION) -> str | None:
    return emulator.current_override(ACCOUNT, region)


def rds_calls() -> list[tuple[str, str]]:
    return [(call.region, call.action) for call in emulator.calls()]


def records(stream: io.StringIO, level: str) -> list[dict[str, Any]]:
    """The JSON log records of one level that the handler wrote to `stream`."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if f'"level":"{level}"' in line]


class CloudFormation:
    """Sends events to the handler and keeps every answer it PUT."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.answered_at: list[float] = []
        """time.monotonic() of each answer."""

    def put_response(self, url: str, body: bytes, **_: Any) -> bool:
        assert len(body) <= cfn_resource.MAX_BODY_BYTES
        self.urls.append(url)
        self.answers.append(json.loads(body))
        self.answered_at.append(time.monotonic())
        return True

    def event(
        self,
        request_type: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        raw_properties: dict[str, Any] | None = None,
        **ids: str,
    ) -> dict[str, Any]:
        """`ids`: stack_id=, logical_id=, request_id= when a test needs them (see make_event)."""
        request_id = ids.pop("request_id", None) or str(uuid.uuid4())
        url = (
            "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/"
            f"arn%3Aaws%3Acloudformation/{request_id}?X-Amz-Signature={SIGNATURE}"
        )
        event = make_event(
            request_type,
            {"ServiceTimeout": 300, **properties},
            physical_id=physical_id,
            old_properties=old_properties,
            response_url=url,
            request_id=request_id,
            **ids,
        )
        if raw_properties is not None:  # a template that passes JSON values, not strings
            event["ResourceProperties"].update(raw_properties)
        return event

    def deliver(self, event: dict[str, Any], *, timeout_s: float = FUNCTION_TIMEOUT_S) -> dict[str, Any]:
        """Invoke the handler with `event`; returns the one answer it PUT."""
        emulator.reset_calls()
        before = len(self.answers)
        context = LambdaContext(
            function_name="rds-certificate-override",
            memory_mb=256,
            region=REGION,
            aws_request_id=str(uuid.uuid4()),
            timeout_s=timeout_s,
        )
        app.handler(event, context)
        assert len(self.answers) == before + 1, "CloudFormation must get exactly one answer"
        assert self.urls[-1] == event["ResponseURL"]
        answer = self.answers[-1]
        assert answer["PhysicalResourceId"], "CloudFormation rejects an empty physical id"
        assert answer["RequestId"] == event["RequestId"]
        return answer

    def send(
        self,
        request_type: str,
        properties: dict[str, Any],
        *,
        timeout_s: float = FUNCTION_TIMEOUT_S,
        **options: Any,
    ) -> dict[str, Any]:
        """Build an event (`options` as for `event`) and deliver it."""
        return self.deliver(self.event(request_type, properties, **options), timeout_s=timeout_s)
