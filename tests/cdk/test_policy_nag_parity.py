"""Parity: the cdk-nag pack (`RdsCaChecks`) and the Guard rules (policy/*.guard, run by the real Guard engine)
give the same verdicts on one shared table of cases (tests/policy/policy_cases.py), each case built as a CDK
stack and synthesized with the pack as a validation plugin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_support import NO_BUNDLING
from policy_cases import CASES, ECC384, SYSTEM, Case, db
from rds_certificate_override import ca_policy
from rds_certificate_override.nag import RdsCaChecks
from rds_override_tools import policy_check
from rds_override_tools.policy_check import Severity

LEVEL = {"error": "FAIL", "warning": "WARN"}


def build(app: cdk.App, case: Case) -> cdk.Stack:
    stack = cdk.Stack(app, "Case")
    for logical_id, resource in case.resources.items():
        made = cdk.CfnResource(
            stack, logical_id, type=resource["Type"], properties=resource.get("Properties")
        )
        made.override_logical_id(logical_id)
        if "Metadata" in resource:
            made.cfn_options.metadata = resource["Metadata"]
    return stack


def nag_verdicts(case: Case, data: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    app = cdk.App(context=NO_BUNDLING)
    build(app, case)
    report = RdsCaChecks(app, data=data or case.data).validate_scope(app)
    return {
        (violation.rule_name.removeprefix("RdsCa-"), LEVEL[violation.severity])
        for violation in report.violations
        for resource in violation.violating_resources
        if resource.construct_path == "Case/Db"
    }


def guard_verdicts(case: Case) -> set[tuple[str, str]]:
    findings = policy_check.check_template("t.json", {"Resources": case.resources}, case.data)
    return {(finding.rule, str(finding.severity)) for finding in findings}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_nag_pack_and_guard_agree(case: Case) -> None:
    assert nag_verdicts(case) == guard_verdicts(case) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_same_messages(case: Case) -> None:
    guard = {
        (finding.rule, finding.message)
        for finding in policy_check.check_template("t.json", {"Resources": case.resources}, case.data)
    }
    resource = case.resources["Db"]
    python = {
        (finding.rule, finding.message) for finding in ca_policy.judge(resource, case.resources, case.data)
    }
    assert python == guard


def test_the_messages_are_the_guard_files_own() -> None:
    rules = policy_check.rules_text(Severity.FAIL) + policy_check.rules_text(Severity.WARN)
    in_guard = {part.split(">>")[0] for part in rules.split("<<")[1:]}
    in_python = {
        value for name, value in vars(ca_policy).items() if name.isupper() and isinstance(value, str)
    }
    assert in_guard <= in_python
    assert {rule for rule in re.findall(r"^rule (RDS_CA_\w+)", rules, re.MULTILINE)} == set(ca_policy.RULES)


def pack_report(outdir: Path) -> dict[str, Any]:
    """The pack's part of the synth's validation report (CDK's own template validation reports beside it)."""
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    [report] = [report for report in reports if report["pluginName"] == "RdsCa"]
    return dict(report)


def test_a_finding_is_acknowledged_the_cdk_nag_way(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=NO_BUNDLING)
    cdk.Validations.of(app).add_plugins(RdsCaChecks(app, data=SYSTEM))
    stack = cdk.Stack(app, "Acknowledged")
    resource = db("sqlserver-se", "15.00.4415.2.v1", ECC384)
    made = cdk.CfnResource(stack, "Db", type=resource["Type"], properties=resource["Properties"])
    cdk.Validations.of(made).acknowledge(
        cdk.Acknowledgment(
            id="RdsCa::RdsCa-RDS_CA_ENGINE_SUPPORTED", reason="SQL Server gets its CA elsewhere"
        )
    )
    app.synth()  # raises on any unacknowledged error
    assert pack_report(tmp_path)["violations"] == []


def test_an_unacknowledged_failure_fails_the_synth(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=NO_BUNDLING)
    cdk.Validations.of(app).add_plugins(RdsCaChecks(app, data=SYSTEM))
    stack = cdk.Stack(app, "Failing")
    resource = db("sqlserver-se", "15.00.4415.2.v1", ECC384)
    cdk.CfnResource(stack, "Db", type=resource["Type"], properties=resource["Properties"])
    with pytest.raises(Exception, match="Acknowledge with 'RdsCa::RdsCa-RDS_CA_ENGINE_SUPPORTED'"):
        app.synth()
    [violation] = pack_report(tmp_path)["violations"]
    assert violation["ruleName"] == "RdsCa-RDS_CA_ENGINE_SUPPORTED"
    assert violation["description"].endswith(
        f"(value: {ECC384}; valid: rds-ca-rsa2048-g1, rds-ca-rsa4096-g1)"
    )


def test_a_data_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a policy data file \\(missing RdsCaCertificates"):
        RdsCaChecks(data=path)
