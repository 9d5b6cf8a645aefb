"""The RDS CA Guard rules (policy/*.guard) on templates built for each rule, run by the real Guard engine
(cfn-guard-rs), in the template shape and in the Guard Hook's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy_cases import (
    CASES,
    DECLARED_ECC,
    ECC384,
    RSA2048,
    RSA4096,
    SYSTEM,
    Case,
    db,
    hook_input,
)
from rds_override_tools import policy_check
from rds_override_tools.policy_check import Severity


def verdicts(case: Case) -> set[tuple[str, str]]:
    findings = policy_check.check_template("t.json", {"Resources": case.resources}, case.data)
    assert {finding.resource for finding in findings} <= {"Db"}
    return {(finding.rule, str(finding.severity)) for finding in findings}


def hook_verdicts(case: Case) -> set[tuple[str, str]]:
    return {
        (failed.rule, str(severity))
        for severity in Severity
        for failed in policy_check.evaluate(hook_input(case), case.data, severity)
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_template_shape(case: Case) -> None:
    assert verdicts(case) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hook_shape(case: Case) -> None:
    assert hook_verdicts(case) == (case.expected if case.hook is None else case.hook)


def findings_of(resources: dict[str, Any], data: dict[str, Any]) -> list[policy_check.Finding]:
    return policy_check.check_template("t.json", {"Resources": resources}, data)


def test_sql_server_with_ecc384_names_the_cas_it_supports() -> None:
    [finding] = findings_of({"Db": db("sqlserver-se", "15.00.4415.2.v1", ECC384)}, SYSTEM)
    assert (finding.value, finding.choices) == (ECC384, [RSA2048, RSA4096])
    assert "does not support the CA" in finding.line()
    assert f"value: {ECC384}; valid: {RSA2048}, {RSA4096}" in finding.line()


def test_a_declared_default_the_engine_does_not_support_is_named() -> None:
    [finding] = findings_of({"Db": db("sqlserver-se", "15.00.4415.2.v1")}, DECLARED_ECC)
    assert "declared default CA" in finding.message
    assert (finding.value, finding.choices) == (ECC384, [RSA2048, RSA4096])


@pytest.mark.parametrize(
    ("case_id", "said"),
    [
        ("no-ca-default-set-by-hand", "set by hand (ModifyCertificates), not declared"),
        ("no-ca-system-default", "no default CA is declared in this region (the system default applies)"),
    ],
)
def test_an_undeclared_default_says_why(case_id: str, said: str) -> None:
    [case] = [case for case in CASES if case.id == case_id]
    [finding] = policy_check.check_template("t.json", {"Resources": case.resources}, case.data)
    assert said in finding.message


def test_an_unknown_ca_names_the_regions_cas() -> None:
    findings = findings_of({"Db": db("postgres", "16.3", "rds-ca-nope")}, SYSTEM)
    [exists] = [finding for finding in findings if finding.rule == "RDS_CA_EXISTS"]
    assert exists.value == "rds-ca-nope"
    assert exists.choices == SYSTEM["RdsCaCertificates"]


def test_an_expiring_ca_is_named_with_the_expiring_set() -> None:
    [finding] = findings_of({"Db": db("postgres", "16.3", "rds-ca-2019")}, SYSTEM)
    assert "must not be one of: rds-ca-2019" in finding.line()


def test_an_unknown_version_names_the_known_ones() -> None:
    [finding] = findings_of({"Db": db("postgres", "99.1", RSA2048)}, SYSTEM)
    assert finding.severity is Severity.WARN
    assert finding.value == "99.1"
    assert {"15", "15.7", "16", "16.1", "16.3"} <= set(finding.choices)


def test_each_judged_resource_is_named_and_others_are_context() -> None:
    resources = {
        "Good": db("postgres", "16.3", RSA2048),
        "Bad": db("sqlserver-se", "15.00.4415.2.v1", ECC384),
        "Bucket": {"Type": "AWS::S3::Bucket"},
    }
    findings = findings_of(resources, SYSTEM)
    assert [(finding.resource, finding.rule) for finding in findings] == [("Bad", "RDS_CA_ENGINE_SUPPORTED")]
    assert policy_check.exit_code(findings) == 1


def test_warnings_alone_exit_0() -> None:
    findings = findings_of({"Db": db("postgres", "99.1", RSA2048)}, SYSTEM)
    assert findings
    assert policy_check.exit_code(findings) == 0


def test_an_intrinsic_ca_is_not_judged_but_counts_as_set() -> None:
    assert findings_of({"Db": db("postgres", "16.3", {"Ref": "Ca"})}, SYSTEM) == []


def test_rule_names_are_those_the_cdk_nag_pack_uses() -> None:
    rules = policy_check.rules_text(Severity.FAIL) + policy_check.rules_text(Severity.WARN)
    names = {line.split()[1] for line in rules.splitlines() if line.startswith("rule RDS_CA_")}
    assert names == {
        "RDS_CA_DECLARED",
        "RDS_CA_EXISTS",
        "RDS_CA_NOT_EXPIRING",
        "RDS_CA_ENGINE_SUPPORTED",
        "RDS_CA_ENGINE_KNOWN",
        "RDS_CA_ROTATION_RESTART",
    }


def test_the_data_keys_never_clash_with_a_template() -> None:
    template_keys = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings"}
    template_keys |= {"Conditions", "Transform", "Resources", "Outputs", "Hooks"}
    assert all(key.startswith("RdsCa") for key in SYSTEM)
    assert not set(SYSTEM) & template_keys
    assert json.loads(json.dumps(SYSTEM)) == SYSTEM


def test_every_finding_carries_its_rules_own_message() -> None:
    rules = policy_check.rules_text(Severity.FAIL) + policy_check.rules_text(Severity.WARN)
    messages = {part.split(">>")[0] for part in rules.split("<<")[1:]}
    for case in CASES:
        for finding in policy_check.check_template("t.json", {"Resources": case.resources}, case.data):
            assert finding.message in messages, (case.id, finding)


@pytest.mark.parametrize(("ca", "expected"), [(ECC384, {"RDS_CA_ENGINE_SUPPORTED"}), (RSA2048, set())])
def test_a_hooks_docdb_instance_names_its_cluster_by_id_and_is_judged_by_every_docdb_version(
    ca: str, expected: set[str]
) -> None:
    properties = {"DBClusterIdentifier": "my-cluster", "CACertificateIdentifier": ca}
    document = {
        "Resources": {"Db": {"ResourceType": "AWS::DocDB::DBInstance", "ResourceProperties": properties}}
    }
    failed = [
        failed.rule for severity in Severity for failed in policy_check.evaluate(document, SYSTEM, severity)
    ]
    assert set(failed) == expected
