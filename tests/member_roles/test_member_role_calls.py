"""The AWS calls `status` makes, recorded on the emulator by botocore's client-side monitoring (each attempt
with the access key that signed it), as an operator runs the installed command over an organization: the
calls signed with a member role's keys are exactly STATUS, and the audit role allows each of them; the calls
signed with the caller's own keys stay in the account it runs from.

To add `rotate` once it is merged: arrange databases and clusters, run `rotate` (and `rotate --apply --yes`
against the rotation role) the same way, and compare `member_actions(...)` with ROTATE_PLAN (ROTATE_APPLY).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.session
import pytest
from member_roles_support import ROTATE_PLAN, STATUS, Template, is_read

from rds_override_ledger import declarations

# The local stand-ins (the dev-only package rds_override_local).
from rds_override_local import organization, settings
from rds_override_local.api_calls import ApiCallAttempt, ApiCallRecorder, api_call_recorder
from rds_override_local.cloud import emulator_server
from rds_override_local.rds_emulator import ca_roots

HOME = settings.REGION
US = settings.OTHER_REGION
MEMBERS = ("111111111111", "222222222222")
CALLER_KEY = settings.DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]
CALLER_ACTIONS = {"sts:AssumeRole", "sts:GetCallerIdentity", "organizations:ListAccounts"}
"""What the command may call in the account it runs from (docs/status.md, "in the account it runs from")."""
SERVICES = ("rds", "ssm", "cloudformation", "ec2", "sts", "organizations")
AUDIT_ROLE = Template().body["Parameters"]["AuditRoleName"]["Default"]
"""moto lets any role be assumed: the name is the template's, for the record."""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with emulator_server() as url:
        arrange(url)
        yield url


@pytest.fixture
def recorder() -> Iterator[ApiCallRecorder]:
    with api_call_recorder() as calls:
        yield calls


@functools.cache
def iam_prefixes() -> dict[str, str]:
    """Each service's IAM prefix (its signing name) by the service id that client-side monitoring reports."""
    session = botocore.session.Session()
    models = [session.get_service_model(name) for name in SERVICES]
    return {model.service_id: model.signing_name for model in models}


def iam_action(attempt: ApiCallAttempt) -> str:
    """The IAM action of a call: the service's IAM prefix and the operation."""
    prefixes = iam_prefixes()
    assert attempt.service in prefixes, f"a call to a service the roles do not cover: {attempt}"
    return f"{prefixes[attempt.service]}:{attempt.api}"


def member_actions(attempts: list[ApiCallAttempt]) -> set[str]:
    """The actions called with a member role's keys: any key but the caller's own."""
    assert all(attempt.access_key for attempt in attempts), "every call is signed"
    return {iam_action(attempt) for attempt in attempts if attempt.access_key != CALLER_KEY}


def caller_actions(attempts: list[ApiCallAttempt]) -> set[str]:
    return {iam_action(attempt) for attempt in attempts if attempt.access_key == CALLER_KEY}


def run_command(endpoint: str, recorder: ApiCallRecorder, command: str, *args: str) -> dict[str, object]:
    """`rds-certificate-override COMMAND --endpoint-url ENDPOINT --format json ARGS`, recorded; its JSON."""
    env = {"PATH": os.environ.get("PATH", ""), **organization.status_environment(), **recorder.env}
    done = subprocess.run(  # noqa: S603 - our own console script
        [organization.status_command(), command, "--endpoint-url", endpoint, "--format", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def arrange(endpoint: str) -> None:
    """A member account with everything `status` reads: a live declaration, one whose stack is gone, an
    override, and a DB instance (so its engine version is asked for)."""
    member = organization.member_session(endpoint, MEMBERS[0])
    for region, stack_name, gone in ((HOME, "team-a", False), (US, "team-b", True)):
        cloudformation = member.client("cloudformation", region_name=region, endpoint_url=endpoint)
        stack_id = cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
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
        member.client("ssm", region_name=region, endpoint_url=endpoint).put_parameter(
            Name=declaration.name, Value=declaration.to_json(), Type="String"
        )
        member.client("rds", region_name=region, endpoint_url=endpoint).modify_certificates(
            CertificateIdentifier="rds-ca-rsa4096-g1"
        )
        if gone:
            cloudformation.delete_stack(StackName=stack_id)
    member.client("rds", region_name=HOME, endpoint_url=endpoint).create_db_instance(
        DBInstanceIdentifier="pg-1",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        EngineVersion="16.3",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
    )


def test_status_calls_in_a_member_account_exactly_what_the_audit_role_allows(
    endpoint: str, recorder: ApiCallRecorder
) -> None:
    # No --regions: each account's enabled regions are asked for too (ec2:DescribeRegions, in the member).
    report = run_command(
        endpoint, recorder, "status", "--accounts", ",".join(MEMBERS), "--role-name", AUDIT_ROLE
    )
    attempts = recorder.take_attempts()

    rows = report["rows"]
    assert isinstance(rows, list)
    states = {(row["account"], row["region"]): row["state"] for row in rows}
    assert "unreadable" not in states.values(), "every read happened"
    assert states[(MEMBERS[0], HOME)] == "in-sync"
    assert states[(MEMBERS[0], US)] == "stale"
    called = member_actions(attempts)
    assert called == STATUS, "STATUS (member_roles_support) is the list of what status calls in a member"
    audit = Template().roles({"TrustedAccountId": MEMBERS[1]})[AUDIT_ROLE]
    assert called <= audit.actions()
    assert all(is_read(action) for action in called)
    assert caller_actions(attempts) <= CALLER_ACTIONS
    assert "sts:AssumeRole" in caller_actions(attempts)


def test_rotates_plan_calls_in_a_member_account_only_what_the_audit_role_allows(
    endpoint: str, recorder: ApiCallRecorder
) -> None:
    run_command(endpoint, recorder, "rotate", "--accounts", ",".join(MEMBERS), "--role-name", AUDIT_ROLE)
    called = member_actions(recorder.take_attempts())
    assert {"rds:DescribeDBInstances", "rds:DescribeDBClusters", "ssm:GetParametersByPath"} <= called
    assert called <= ROTATE_PLAN, "ROTATE_PLAN (rotate_fleet.READ_ACTIONS) lists what rotate's plan calls"
    assert called <= Template().roles({"TrustedAccountId": MEMBERS[1]})[AUDIT_ROLE].actions()
    assert all(is_read(action) for action in called)


def test_rotate_no_restart_reads_the_parameter_groups_the_audit_role_allows(
    endpoint: str, recorder: ApiCallRecorder
) -> None:
    run_command(
        endpoint,
        recorder,
        "rotate",
        "--accounts",
        MEMBERS[0],
        "--role-name",
        AUDIT_ROLE,
        "--regions",
        HOME,
        "--to",
        "rds-ca-ecc384-g1",  # pg-1 is on the declared rds-ca-rsa4096-g1
        "--no-restart",
    )
    called = member_actions(recorder.take_attempts())
    assert "rds:DescribeDBParameters" in called
    assert called <= ROTATE_PLAN
    assert called <= Template().roles({"TrustedAccountId": MEMBERS[1]})[AUDIT_ROLE].actions()


def test_check_trust_store_reads_in_a_member_account_no_more_than_status(
    endpoint: str, recorder: ApiCallRecorder, tmp_path: Path
) -> None:
    store = tmp_path / "bundle.pem"
    store.write_bytes(ca_roots.bundle([HOME, US]))
    run_command(
        endpoint,
        recorder,
        "check-trust-store",
        str(store),
        "--accounts",
        MEMBERS[0],
        "--role-name",
        AUDIT_ROLE,
        "--regions",
        f"{HOME},{US}",
    )
    called = member_actions(recorder.take_attempts())
    assert "rds:DescribeCertificates" in called
    assert called <= STATUS, "check-trust-store needs no permission beyond status's"


def test_with_organization_the_caller_lists_the_accounts_and_members_only_read(
    endpoint: str, recorder: ApiCallRecorder
) -> None:
    caller = boto3.session.Session(
        aws_access_key_id=CALLER_KEY,
        aws_secret_access_key=settings.DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    caller.client("organizations", region_name=HOME, endpoint_url=endpoint).create_organization(
        FeatureSet="ALL"
    )
    report = run_command(
        endpoint, recorder, "status", "--organization", "--role-name", AUDIT_ROLE, "--regions", HOME
    )
    attempts = recorder.take_attempts()

    assert report["rows"], "the organization's accounts were read"
    assert caller_actions(attempts) <= CALLER_ACTIONS
    assert "organizations:ListAccounts" in caller_actions(attempts)
    assert member_actions(attempts) <= STATUS
