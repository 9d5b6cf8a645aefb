"""member-roles.yaml: plain CloudFormation a service-managed StackSet accepts; a read-only audit role with
exactly the commands' reads; the writes only in the rotation role, which exists only with AllowRotation=true;
both trusted by one account, optionally narrowed to a principal pattern and an organization."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cfnlint.api import lint_all
from member_roles_support import (
    ACCOUNT,
    READS,
    ROOT,
    ROTATE_APPLY,
    ROTATE_PLAN,
    STATUS,
    TRUSTED,
    WRITES,
    Template,
    as_list,
    is_read,
)

from rds_override_ledger.declarations import DECLARATIONS_PATH
from rds_override_local import organization

MACRO_MARKERS = ("Fn::Transform", "AWS::Include", "AWS::LanguageExtensions", "AWS::Serverless")
ROTATION = {"TrustedAccountId": TRUSTED, "AllowRotation": "true"}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


def strings_and_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in (key, *strings_and_keys(v))]
    if isinstance(value, list):
        return [item for v in value for item in strings_and_keys(v)]
    return [value] if isinstance(value, str) else []


def test_plain_cloudformation_that_cfn_lint_passes(template: Template) -> None:
    assert "Transform" not in template.body
    assert not [s for s in strings_and_keys(template.body) if s.startswith(MACRO_MARKERS)]
    findings = [str(m) for m in lint_all(template.path.read_text()) if m.rule.id[0] in "EW"]
    assert findings == []


def test_by_default_one_role_that_only_reads(template: Template) -> None:
    roles = template.roles({"TrustedAccountId": TRUSTED})
    assert list(roles) == ["RdsCertificateOverrideAudit"]
    audit = roles["RdsCertificateOverrideAudit"]
    assert audit.actions() == READS
    assert all(is_read(action) for action in audit.actions())
    everything = strings_and_keys(template.resources({"TrustedAccountId": TRUSTED}))
    assert not [s for s in everything if s in WRITES], "no resource of the default stack names a write"


def test_the_audit_role_allows_what_status_and_the_plan_call(template: Template) -> None:
    audit = template.roles({"TrustedAccountId": TRUSTED})["RdsCertificateOverrideAudit"]
    assert audit.actions() >= STATUS
    assert audit.actions() >= ROTATE_PLAN
    assert not audit.actions() & WRITES


def test_the_ledger_read_is_scoped_to_the_declarations_path(template: Template) -> None:
    audit = template.roles({"TrustedAccountId": TRUSTED})["RdsCertificateOverrideAudit"]
    assert audit.resources("ssm:GetParametersByPath") == {
        f"arn:aws:ssm:*:{ACCOUNT}:parameter{DECLARATIONS_PATH}"
    }


def test_with_rotation_a_second_role_reads_and_writes_the_accounts_databases(template: Template) -> None:
    roles = template.roles(ROTATION)
    assert set(roles) == {"RdsCertificateOverrideAudit", "RdsCertificateOverrideRotate"}
    assert roles["RdsCertificateOverrideAudit"].actions() == READS, "the audit role stays read-only"
    rotate = roles["RdsCertificateOverrideRotate"]
    assert rotate.actions() == ROTATE_APPLY
    assert {"rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:ApplyPendingMaintenanceAction"} == WRITES
    assert rotate.resources("rds:ModifyDBInstance") == {f"arn:aws:rds:*:{ACCOUNT}:db:*"}
    assert rotate.resources("rds:ModifyDBCluster") == {f"arn:aws:rds:*:{ACCOUNT}:cluster:*"}
    assert rotate.resources("rds:ApplyPendingMaintenanceAction") == {
        f"arn:aws:rds:*:{ACCOUNT}:db:*",
        f"arn:aws:rds:*:{ACCOUNT}:cluster:*",
    }


def test_writes_exist_only_under_the_rotation_condition_which_defaults_to_off(template: Template) -> None:
    body = template.body
    assert body["Parameters"]["AllowRotation"]["Default"] == "false"
    assert body["Conditions"]["RotationAllowed"] == {"Fn::Equals": [{"Ref": "AllowRotation"}, "true"]}
    writers = {
        logical_id
        for logical_id, resource in body["Resources"].items()
        if set(strings_and_keys(resource)) & WRITES
    }
    assert writers == {"RotationRole"}
    assert body["Resources"]["RotationRole"]["Condition"] == "RotationAllowed"
    for name, output in body["Outputs"].items():
        if "RotationRole" in str(output):
            assert output.get("Condition") == "RotationAllowed", name


def test_every_action_is_one_a_command_calls(template: Template) -> None:
    """Nothing extra: each action of either role is on a command's list (a new one needs a new call)."""
    for role in template.roles(ROTATION).values():
        for statement in role.statements:
            for action in as_list(statement["Action"]):
                assert action in ROTATE_APPLY, action
                assert "*" not in action


@pytest.mark.parametrize(
    ("given", "condition"),
    [
        ({}, None),
        (
            {"TrustedPrincipalArn": f"arn:aws:iam::{TRUSTED}:role/platform-*"},
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{TRUSTED}:role/platform-*"}},
        ),
        ({"OrganizationId": "o-a1b2c3d4e5"}, {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        (
            {"TrustedPrincipalArn": f"arn:aws:iam::{TRUSTED}:role/ops", "OrganizationId": "o-a1b2c3d4e5"},
            {
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{TRUSTED}:role/ops"},
                "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
            },
        ),
    ],
)
def test_both_roles_trust_the_one_account_narrowed_as_asked(
    template: Template, given: dict[str, str], condition: dict[str, Any] | None
) -> None:
    roles = template.roles({**ROTATION, **given})
    for role in roles.values():
        (statement,) = role.trust
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{TRUSTED}:root"}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement.get("Condition") == condition


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "TrustedAccountId has no default"),
        ({"TrustedAccountId": "1111-2222-3333"}, "TrustedAccountId"),
        ({"TrustedAccountId": TRUSTED, "AllowRotation": "yes"}, "AllowRotation"),
        ({"TrustedAccountId": TRUSTED, "OrganizationId": "r-abcd"}, "OrganizationId"),
        ({"TrustedAccountId": TRUSTED, "TrustedPrincipalArn": "platform-*"}, "TrustedPrincipalArn"),
        ({"TrustedAccountId": TRUSTED, "AuditRoleName": "a/b"}, "AuditRoleName"),
        ({"TrustedAccountId": TRUSTED, "RotationRoleName": "x" * 65}, "RotationRoleName"),
    ],
)
def test_bad_parameters_are_refused(template: Template, given: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        template.parameters(given)


def test_the_audit_role_is_the_docs_role_name(template: Template) -> None:
    default = template.body["Parameters"]["AuditRoleName"]["Default"]
    for page in ("README.md", "docs/status.md", "docs/rotation.md"):
        assert f"--role-name {default}" in (ROOT / page).read_text(), page


def docs_iam_actions() -> set[str]:
    """The actions of docs/status.md's table of what `status` (and any command beside it) needs."""
    readme = (ROOT / "docs" / "status.md").read_text()
    table = readme.split("IAM the command needs, in each account it reads", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"`([a-z0-9-]+:[A-Za-z]+)`", table))


def test_the_audit_role_reads_what_the_docs_list(template: Template) -> None:
    listed = docs_iam_actions()
    assert listed >= STATUS, "docs/status.md lists every action status calls"
    audit = template.roles({"TrustedAccountId": TRUSTED})["RdsCertificateOverrideAudit"]
    assert audit.actions() == {action for action in listed if is_read(action)} | ROTATE_PLAN
    assert {action for action in listed if not is_read(action)} <= WRITES


def test_the_docs_stack_set_update_keeps_every_other_parameter(template: Template) -> None:
    """update-stack-set gives a parameter it is not passed its default again: ROLES_KEEP passes them all."""
    readme = (ROOT / "docs" / "organization.md").read_text()
    keep = readme.split('ROLES_KEEP="', 1)[1].split('"', 1)[0]
    kept = set(re.findall(r"ParameterKey=(\w+),UsePreviousValue=true", keep))
    assert kept == set(template.body["Parameters"]) - {"AllowRotation"}
    assert "ParameterKey=AllowRotation,ParameterValue=true $ROLES_KEEP" in readme


def test_the_emulators_organization_assumes_the_audit_role_by_its_default_name(template: Template) -> None:
    # make status-demo prints its command line for the reader to copy: the role name the docs use.
    assert template.body["Parameters"]["AuditRoleName"]["Default"] == organization.ROLE_NAME
