"""The Guard Hook's data refresh (policy/guard-hook.yaml): a Lambda function that runs `policy-data`'s own
code for its account and region and writes the data file, beside the rule files it ships with, to the
hook's bucket. Invoked on a schedule, and by CloudFormation as the stack's custom resource (Create and
Update write the files, so the hook has them from the start; Delete removes them, so the bucket can go).

Environment: BUCKET (the hook's bucket), DAYS (the expiry horizon, as `policy-data --days`).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import boto3

from rds_override_tools import aws, fleet, policy_data

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# The keys the GuardHook resources of policy/guard-hook.yaml read.
DATA_KEY = "rds-ca/data.json"
RULE_KEYS = {"rds-ca.guard": "rds-ca/rds-ca.guard", "rds-ca-warnings.guard": "rds-ca/rds-ca-warnings.guard"}


def refresh(bucket: str, account: str, region: str, days: int) -> dict[str, Any]:
    """Write the rule files and this account-region's data file; the data written."""
    clients = aws.Clients(home_region=region)
    clients.add_account(account, None)
    data = policy_data.read_data(
        fleet.FleetReader(clients, days=days, now=datetime.now(UTC)), account, region, days
    )
    s3 = boto3.client("s3", region_name=region)
    rules = resources.files("rds_override_tools") / "policy_rules"
    for name, key in RULE_KEYS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=(rules / name).read_bytes(), ContentType="text/plain")
    s3.put_object(
        Bucket=bucket, Key=DATA_KEY, Body=policy_data.render(data).encode(), ContentType="application/json"
    )
    return data


def remove(bucket: str, region: str) -> None:
    s3 = boto3.client("s3", region_name=region)
    s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in [DATA_KEY, *RULE_KEYS.values()]]}
    )


def _answer(event: dict[str, Any], status: str, reason: str) -> None:
    """CloudFormation's custom resource answer (the presigned ResponseURL is never logged)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId")
            or f"rds-ca-policy-data-{event['StackId'][-12:]}",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's presigned HTTPS URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    bucket, region = os.environ["BUCKET"], os.environ["AWS_REGION"]
    days = int(os.environ.get("DAYS", "30"))
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    if "RequestType" not in event:  # the schedule
        data = refresh(bucket, account, region, days)
        LOGGER.info(
            "wrote s3://%s/%s (%s CAs, default %s)",
            bucket,
            DATA_KEY,
            len(data["RdsCaCertificates"]),
            data["RdsCaDefault"],
        )
        return {"written": DATA_KEY}
    try:
        if event["RequestType"] == "Delete":
            remove(bucket, region)
        else:
            refresh(bucket, account, region, days)
    except Exception as error:
        LOGGER.exception("policy data refresh failed")
        _answer(event, "FAILED", f"{type(error).__name__}: {error}")
        raise
    _answer(event, "SUCCESS", "policy data written" if event["RequestType"] != "Delete" else "removed")
    return {"written": DATA_KEY}
