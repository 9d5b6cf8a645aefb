"""In-process harness for the handler tests: CloudFormation events in, the PUT answers out.

`index.handler` runs in this process under moto's mock_aws with the RDS certificate emulator; the answer it
would PUT to the ResponseURL is captured at `cfn_resource.put_response`.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import cfn_resource
import index
import moto_rds_certificates as emulator
from cfn_driver import make_event
from lambda_runner import LambdaContext

ACCOUNT = emulator.DEFAULT_ACCOUNT_ID
REGION = "eu-west-1"  # the function's region (tests/conftest.py)
OTHER_REGION = "us-east-1"
SIGNATURE = "S3cr3tSignatureThatMustNeverBeLogged"
V1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1"}
V2 = {"CertificateIdentifier": "rds-ca-ecc384-g1"}


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

    def put_response(self, url: str, body: bytes, **_: Any) -> bool:
        assert len(body) <= cfn_resource.MAX_BODY_BYTES
        self.urls.append(url)
        self.answers.append(json.loads(body))
        return True

    def event(
        self,
        request_type: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        raw_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
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
        )
        if raw_properties is not None:  # a template that passes JSON values, not strings
            event["ResourceProperties"].update(raw_properties)
        return event

    def deliver(self, event: dict[str, Any], *, timeout_s: float = 60) -> dict[str, Any]:
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
        index.handler(event, context)
        assert len(self.answers) == before + 1, "CloudFormation must get exactly one answer"
        assert self.urls[-1] == event["ResponseURL"]
        answer = self.answers[-1]
        assert answer["PhysicalResourceId"], "CloudFormation rejects an empty physical id"
        assert answer["RequestId"] == event["RequestId"]
        return answer

    def send(
        self, request_type: str, properties: dict[str, Any], *, timeout_s: float = 60, **options: Any
    ) -> dict[str, Any]:
        """Build an event (`options` as for `event`) and deliver it."""
        return self.deliver(self.event(request_type, properties, **options), timeout_s=timeout_s)
