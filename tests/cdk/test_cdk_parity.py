"""The construct and the SAM template (template.yaml) describe one provider: these tests keep them equal.

Both sides are normalized the same way (logical ids by role, parameters by their defaults) and compared
whole, so a setting added to one side only fails here. The code itself is compared in test_cdk_package.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.decode import cfn_yaml

from cdk_support import SAM_TEMPLATE, new_stack, only, resources_of, template_of
from override import Certificate, attributes
from rds_certificate_override import CERTIFICATE_IDENTIFIER_PATTERN, RdsCertificateOverride

SAM_IDS = {
    "FunctionLogGroup": "<log group>",
    "FunctionRole": "<role>",
    "RdsCertificateOverrideFunction": "<function>",
    "RdsCertificateOverride": "<override>",
}
CDK_TYPES = {
    "AWS::Logs::LogGroup": "<log group>",
    "AWS::IAM::Role": "<role>",
    "AWS::Lambda::Function": "<function>",
    "Custom::RdsCertificateOverride": "<override>",
    "AWS::Lambda::EventInvokeConfig": "<event invoke config>",
}


def normalize(value: Any, ids: dict[str, str], parameters: dict[str, Any]) -> Any:
    """References to the roles of `ids` and parameters replaced by their defaults, recursively."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Ref"} and value["Ref"] in ids:
            return {"Ref": ids[value["Ref"]]}
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in ids:
            return {"Fn::GetAtt": [ids[value["Fn::GetAtt"][0]], *value["Fn::GetAtt"][1:]]}
        return {key: normalize(item, ids, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item, ids, parameters) for item in value]
    return value


def without_metadata(resource: dict[str, Any]) -> dict[str, Any]:
    """Metadata is for tools (SAM's BuildMethod, checkov's skips, cdk-nag's acknowledgements), not AWS."""
    return {key: value for key, value in resource.items() if key != "Metadata"}


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    """template.yaml, its short-form tags (!Ref, !GetAtt, !Sub) read by cfn-lint's loader, as plain data."""
    template = json.loads(json.dumps(cfn_yaml.load(str(SAM_TEMPLATE))))
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    resources = normalize(template["Resources"], SAM_IDS, parameters)
    function = resources["RdsCertificateOverrideFunction"]
    function["Properties"] = {**template["Globals"]["Function"], **function["Properties"]}
    return {
        "raw": template,
        "resources": {SAM_IDS[key]: value for key, value in resources.items() if key in SAM_IDS},
    }


@pytest.fixture(scope="module")
def synthesized() -> dict[str, Any]:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    template = template_of(stack)
    ids = {key: CDK_TYPES[value["Type"]] for key, value in template["Resources"].items()}
    assert sorted(ids.values()) == sorted(CDK_TYPES.values()), "one resource of each kind, nothing else"
    resources = normalize(template["Resources"], ids, {})
    return {ids[key]: value for key, value in resources.items()}


def test_the_function_has_the_templates_settings(sam: dict[str, Any], synthesized: dict[str, Any]) -> None:
    template_function = sam["resources"]["<function>"]
    cdk_function = synthesized["<function>"]
    assert template_function["Type"] == "AWS::Serverless::Function"
    assert cdk_function["Type"] == "AWS::Lambda::Function"
    # The code is the same build on both sides (compared file by file in test_cdk_package). SAM makes
    # EventInvokeConfig a resource of its own, as CDK does: compared below.
    template_properties = {
        k: v for k, v in template_function["Properties"].items() if k not in ("CodeUri", "EventInvokeConfig")
    }
    cdk_properties = {k: v for k, v in cdk_function["Properties"].items() if k != "Code"}
    assert cdk_properties == template_properties


def test_async_invocations_are_not_retried_on_either_side(
    sam: dict[str, Any], synthesized: dict[str, Any]
) -> None:
    template_config = sam["resources"]["<function>"]["Properties"]["EventInvokeConfig"]
    cdk_config = synthesized["<event invoke config>"]["Properties"]
    assert template_config == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 3600}
    assert cdk_config == {
        "FunctionName": {"Ref": "<function>"},
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 3600,
        "Qualifier": "$LATEST",
    }
    assert "ReservedConcurrentExecutions" not in sam["resources"]["<function>"]["Properties"]


def test_the_role_is_the_templates_role(sam: dict[str, Any], synthesized: dict[str, Any]) -> None:
    assert synthesized["<role>"]["Properties"] == sam["resources"]["<role>"]["Properties"]


def test_the_log_group_is_the_templates_log_group(sam: dict[str, Any], synthesized: dict[str, Any]) -> None:
    template_group = without_metadata(sam["resources"]["<log group>"])
    # The template names its group after the stack; the construct lets CloudFormation name it, as CDK
    # constructs do, so that the provider of any stack (and a replacement) never collides with another.
    del template_group["Properties"]["LogGroupName"]
    assert without_metadata(synthesized["<log group>"]) == template_group


def test_the_override_is_declared_as_the_template_declares_it(
    sam: dict[str, Any], synthesized: dict[str, Any]
) -> None:
    template_override = sam["resources"]["<override>"]
    cdk_override = synthesized["<override>"]
    assert cdk_override["Type"] == template_override["Type"]
    template_properties = template_override["Properties"]
    cdk_properties = cdk_override["Properties"]
    assert set(cdk_properties) == set(template_properties)
    assert cdk_properties["ServiceToken"] == template_properties["ServiceToken"]
    assert int(cdk_properties["ServiceTimeout"]) == int(template_properties["ServiceTimeout"])
    # The defaults: the template's parameters' and the construct's.
    assert cdk_properties["CertificateIdentifier"] == template_properties["CertificateIdentifier"]
    assert cdk_properties["RestorePreviousOnDelete"] == template_properties["RestorePreviousOnDelete"]


def test_the_certificate_pattern_is_the_templates(sam: dict[str, Any]) -> None:
    allowed = sam["raw"]["Parameters"]["CertificateIdentifier"]["AllowedPattern"]
    # The template also allows the empty string (deploy the provider only); the construct does not.
    inner = CERTIFICATE_IDENTIFIER_PATTERN.pattern.removeprefix("^").removesuffix("$")
    assert allowed == f"^({inner})?$"


def test_every_attribute_is_one_the_function_returns(sam: dict[str, Any]) -> None:
    returned = set(
        attributes(
            Certificate("rds-ca-rsa4096-g1", "arn", "CA", "ab", *(datetime.now(UTC),) * 2, True, None),
            region="eu-west-1",
            previous_override=None,
        )
    )
    stack = new_stack()
    override = RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    names = {
        stack.resolve(getattr(override, attribute))["Fn::GetAtt"][1]
        for attribute in (
            "certificate_identifier",
            "certificate_arn",
            "certificate_valid_till",
            "customer_override_valid_till",
            "thumbprint",
            "previous_certificate_identifier",
        )
    }
    assert names <= returned
    outputs = sam["raw"]["Outputs"].values()
    template_names = {o["Value"]["Fn::GetAtt"][1] for o in outputs if "Fn::GetAtt" in o["Value"]}
    assert template_names - {"Arn"} <= returned
    assert cdk.Token.is_unresolved(override.certificate_arn)


def test_only_the_override_resource_kinds_are_synthesized(synthesized: dict[str, Any]) -> None:
    # A guard for the comparisons above: they cover every resource the construct adds.
    assert set(synthesized) == set(CDK_TYPES.values())
    only({k: v for k, v in synthesized.items() if v["Type"] == "AWS::Lambda::Function"})
    assert resources_of({"Resources": synthesized}, "AWS::IAM::Policy") == {}


@pytest.mark.parametrize("resource", ["<function>", "<log group>"])
def test_checkov_skips_the_same_checks_on_both_sides(
    sam: dict[str, Any], synthesized: dict[str, Any], resource: str
) -> None:
    def skipped(side: dict[str, Any]) -> list[str]:
        return sorted(skip["id"] for skip in side[resource]["Metadata"]["checkov"]["skip"])

    assert skipped(sam["resources"]) == skipped(synthesized)
    assert skipped(synthesized), "each skip carries its reason; none is expected to vanish"
