"""policy/guard-hook.yaml: two Guard Hooks over the judged types, WARN by default with FAIL as a choice, rules
and data where the refresh function writes them, cfn-lint clean, fit for a StackSet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from rds_override_tools import policy_check, policy_refresh

TEMPLATE = Path(__file__).resolve().parents[2] / "policy" / "guard-hook.yaml"
JUDGED = ["AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DocDB::DBInstance"]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return policy_check.load_template(TEMPLATE)


def hooks(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudFormation::GuardHook"
    }


def test_the_rules_hook_warns_by_default_and_can_fail(template: dict[str, Any]) -> None:
    mode = template["Parameters"]["FailureMode"]
    assert (mode["Default"], mode["AllowedValues"]) == ("WARN", ["WARN", "FAIL"])
    rules = hooks(template)["RulesHook"]
    assert rules["FailureMode"] == {"Ref": "FailureMode"}
    assert rules["RuleLocation"]["Uri"] == {
        "Fn::Sub": f"s3://${{PolicyBucket}}/{policy_refresh.RULE_KEYS['rds-ca.guard']}"
    }


def test_the_warnings_hook_only_warns(template: dict[str, Any]) -> None:
    warnings = hooks(template)["WarningsHook"]
    assert warnings["FailureMode"] == "WARN"
    assert warnings["RuleLocation"]["Uri"] == {
        "Fn::Sub": f"s3://${{PolicyBucket}}/{policy_refresh.RULE_KEYS['rds-ca-warnings.guard']}"
    }


@pytest.mark.parametrize("name", ["RulesHook", "WarningsHook"])
def test_each_hook_judges_the_three_types_with_the_data(template: dict[str, Any], name: str) -> None:
    hook = hooks(template)[name]
    assert hook["TargetOperations"] == ["RESOURCE"]
    assert hook["TargetFilters"] == {"Actions": ["CREATE", "UPDATE"], "TargetNames": JUDGED}
    assert hook["Options"]["InputParams"]["Uri"] == {
        "Fn::Sub": f"s3://${{PolicyBucket}}/{policy_refresh.DATA_KEY}"
    }
    assert hook["ExecutionRole"] == {"Fn::GetAtt": ["HookRole", "Arn"]}
    # The files are written before the hooks exist.
    assert template["Resources"][name]["DependsOn"] == "PolicyData"


def test_the_refresh_runs_policy_data_code_on_a_schedule(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    function = resources["RefreshFunction"]["Properties"]
    assert function["Handler"] == "rds_override_tools.policy_refresh.handler"
    assert resources["PolicyData"]["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["RefreshFunction", "Arn"]}
    assert resources["RefreshRule"]["Properties"]["ScheduleExpression"] == {"Ref": "RefreshSchedule"}
    assert function["Environment"]["Variables"] == {
        "BUCKET": {"Ref": "PolicyBucket"},
        "DAYS": {"Ref": "ExpiryDays"},
    }


def test_fit_for_a_stackset(template: dict[str, Any]) -> None:
    text = TEMPLATE.read_text()
    assert "Transform" not in template
    assert not re.search(r"\b\d{12}\b", text)  # no account id
    named = ("BucketName", "RoleName", "FunctionName", "LogGroupName", "Name")
    for name, resource in template["Resources"].items():
        literal = {key for key, value in resource.get("Properties", {}).items() if isinstance(value, str)}
        assert not literal & set(named), name


def test_cfn_lint_is_clean() -> None:
    assert [str(match) for match in lint_file(TEMPLATE)] == []
