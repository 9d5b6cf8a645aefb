"""The installed `rds-certificate-override status` command against the emulator over HTTP (--endpoint-url):
moto's ThreadedMotoServer in this process, the command in its own, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

import moto_rds_certificates as emulator

HOME = "eu-west-1"
US = "us-east-1"
ROLE_NAME = "RdsCertificateOverrideStatus"
MEMBERS = ("111111111111", "222222222222")
COMMAND = str(Path(sys.executable).parent / "rds-certificate-override")
ENV = {
    "PATH": os.environ.get("PATH", ""),
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": HOME,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "127.0.0.1",
}


@pytest.fixture
def aws() -> None:
    """Not moto in-process here (the conftest's fixture of that name): a real HTTP server instead."""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    emulator.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def member_session(endpoint: str, account: str) -> boto3.session.Session:
    sts = boto3.client("sts", region_name=HOME, endpoint_url=endpoint, **_keys())
    keys = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}", RoleSessionName="arrange")[
        "Credentials"
    ]
    return boto3.session.Session(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def run(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script
        [COMMAND, "status", "--endpoint-url", endpoint, *args],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


def test_status_over_http_across_accounts(endpoint: str) -> None:
    declaring, hand_changed = (member_session(endpoint, account) for account in MEMBERS)
    stack_id = declaring.client("cloudformation", region_name=HOME, endpoint_url=endpoint).create_stack(
        StackName="team-a", TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    )["StackId"]
    stack_name, stack_uuid = stack_id.split("/")[1:]
    declaration = {
        "Version": 1,
        "StackId": stack_id,
        "LogicalResourceId": "RdsCertificateOverride",
        "CertificateIdentifier": "rds-ca-rsa4096-g1",
        "PreviousOverride": None,
        "RestorePreviousOnDelete": False,
        "State": "applied",
        "RequestId": "r-1",
        "UpdatedAt": "2026-11-28T18:00:00Z",
    }
    declaring.client("ssm", region_name=US, endpoint_url=endpoint).put_parameter(
        Name=f"/rds-certificate-override/declarations/{stack_name}/{stack_uuid}/RdsCertificateOverride",
        Value=json.dumps(declaration),
        Type="String",
    )
    declaring.client("rds", region_name=US, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier="rds-ca-rsa4096-g1"
    )
    hand_changed.client("rds", region_name=HOME, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier="rds-ca-ecc384-g1"
    )
    accounts = ["--accounts", ",".join(MEMBERS), "--role-name", ROLE_NAME, "--regions", f"{HOME},{US}"]

    done = run(endpoint, *accounts, "--json")
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    states = {(row["account"], row["region"]): row["state"] for row in json.loads(done.stdout)["rows"]}
    assert states == {
        (MEMBERS[0], HOME): "in-sync",
        (MEMBERS[0], US): "in-sync",
        (MEMBERS[1], HOME): "undeclared",
        (MEMBERS[1], US): "in-sync",
    }

    table = run(endpoint, *accounts)
    assert table.returncode == 1
    assert table.stdout.splitlines()[0].startswith("ACCOUNT       REGION     STATE")
    assert "team-a/RdsCertificateOverride" in table.stdout
    assert (
        table.stdout.splitlines()[-1]
        == "4 account-regions: 3 in-sync, 0 drift, 1 undeclared, 0 stale, 0 unreadable"
    )


def test_by_default_every_region_the_account_has_enabled(endpoint: str) -> None:
    ec2 = boto3.client("ec2", region_name=HOME, endpoint_url=endpoint, **_keys())
    enabled = sorted(region["RegionName"] for region in ec2.describe_regions()["Regions"])
    done = run(endpoint, "--json")
    assert done.returncode == 0, done.stderr
    assert [row["region"] for row in json.loads(done.stdout)["rows"]] == enabled


def test_an_unknown_region_is_refused_before_anything_is_read(endpoint: str) -> None:
    emulator.reset_calls()
    done = run(endpoint, "--regions", "eu-west-9")
    assert done.returncode == 2
    assert "--regions: unknown in partition aws: eu-west-9" in done.stderr
    assert done.stdout == ""
    assert emulator.calls() == []
