"""The installed `rds-certificate-override status` command against the emulator over HTTP (--endpoint-url):
moto's ThreadedMotoServer in this process, the command in its own, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import boto3
import pytest

from rds_override_ledger import declarations
from rds_override_local import organization, settings
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloud import emulator_server

HOME = settings.REGION
US = settings.OTHER_REGION
MEMBERS = ("111111111111", "222222222222")
COMMAND = organization.status_command()
ENV = {"PATH": os.environ.get("PATH", ""), **organization.status_environment()}


@pytest.fixture
def aws() -> None:
    """Not moto in-process here (the conftest's fixture of that name): a real HTTP server instead."""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with emulator_server() as url:
        yield url


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": settings.DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": settings.DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def run(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script
        [COMMAND, "status", "--endpoint-url", endpoint, *args],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


def test_status_over_http_across_accounts(endpoint: str) -> None:
    declaring, hand_changed = (organization.member_session(endpoint, account) for account in MEMBERS)
    stack_id = declaring.client("cloudformation", region_name=HOME, endpoint_url=endpoint).create_stack(
        StackName="team-a", TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    )["StackId"]
    declaration = declarations.Declaration(
        stack_id=stack_id,
        logical_id="RdsCertificateOverride",
        certificate="rds-ca-rsa4096-g1",
        previous_override=None,
        restore_previous=False,
        state=declarations.WriteState.APPLIED,
        request_id="r-1",
        updated_at="2026-11-28T18:00:00Z",
    )
    declaring.client("ssm", region_name=US, endpoint_url=endpoint).put_parameter(
        Name=declaration.name, Value=declaration.to_json(), Type="String"
    )
    declaring.client("rds", region_name=US, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier="rds-ca-rsa4096-g1"
    )
    hand_changed.client("rds", region_name=HOME, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier="rds-ca-ecc384-g1"
    )
    accounts = [
        "--accounts",
        ",".join(MEMBERS),
        "--role-name",
        organization.ROLE_NAME,
        "--regions",
        f"{HOME},{US}",
    ]

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

    table = run(endpoint, *accounts, "--wide")
    assert table.returncode == 1
    assert table.stdout.splitlines()[0].startswith("ACCOUNT       REGION     STATE")
    assert "team-a/RdsCertificateOverride" in table.stdout
    assert (
        table.stdout.splitlines()[-1]
        == "4 account-regions: 3 in-sync, 0 drift, 1 undeclared, 0 stale, 0 expired-ca, 0 unreadable"
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
