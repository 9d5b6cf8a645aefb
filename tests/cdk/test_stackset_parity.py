"""The StackSet template (make stackset), template.yaml and the CDK construct describe one provider.

The StackSet template is template.yaml translated by the SAM translator, so it is compared with the
construct's synthesized template, resource kind by resource kind: every setting of the function, its role,
its log group and anything either side adds (an event invoke config) must match, the code and the log
group's name apart. test_cdk_parity compares template.yaml's own text with the construct.
"""

from __future__ import annotations

from typing import Any

import pytest

from cdk_support import new_stack, template_of
from rds_certificate_override import RdsCertificateOverride
from rds_override_tools.stackset import OVERRIDE_TYPE, generate

# What legitimately differs: where the code comes from (a bucket parameter / a CDK asset), and the log
# group's name (the template names it after the stack; the construct lets CloudFormation name it).
DIFFERENT_BY_DESIGN = {"AWS::Lambda::Function": {"Code"}, "AWS::Logs::LogGroup": {"LogGroupName"}}


def by_type(template: dict[str, Any]) -> dict[str, Any]:
    """Resources keyed by type, references to other resources by their type; overrides left out."""
    resources = template["Resources"]
    types = {logical_id: resource["Type"] for logical_id, resource in resources.items()}
    provider = {k: v for k, v in resources.items() if v["Type"] != OVERRIDE_TYPE}
    assert len({v["Type"] for v in provider.values()}) == len(provider), "one resource of each kind"
    return {resource["Type"]: normalize(resource, types) for resource in provider.values()}


def normalize(value: Any, types: dict[str, str]) -> Any:
    """Ref/GetAtt by the type of their target; empty settings (SAM writes `DestinationConfig: {}`) dropped."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in types:
            return {"Ref": types[value["Ref"]]}
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in types:
            return {"Fn::GetAtt": [types[value["Fn::GetAtt"][0]], *value["Fn::GetAtt"][1:]]}
        return {k: normalize(v, types) for k, v in value.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [normalize(item, types) for item in value]
    return value


def settings(resource: dict[str, Any]) -> dict[str, Any]:
    """What AWS receives: the properties and policies, not Metadata (checkov's, cdk-nag's) or DependsOn."""
    kept = {k: v for k, v in resource.items() if k not in {"Metadata", "DependsOn", "Properties"}}
    ignored = DIFFERENT_BY_DESIGN.get(resource["Type"], set())
    properties = {k: v for k, v in resource.get("Properties", {}).items() if k not in ignored}
    return {**kept, "Properties": properties}


@pytest.fixture(scope="module")
def stackset_template() -> dict[str, Any]:
    return generate(["eu-west-1", "us-east-1"]).template


@pytest.fixture(scope="module")
def synthesized() -> dict[str, Any]:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    return template_of(stack)


def test_the_provider_is_the_constructs_resource_for_resource(
    stackset_template: dict[str, Any], synthesized: dict[str, Any]
) -> None:
    ours, theirs = by_type(stackset_template), by_type(synthesized)
    assert sorted(ours) == sorted(theirs), "the same kinds of resources"
    for type_ in ours:
        parameters = stackset_template["Parameters"]
        ours_settings = resolve_defaults(settings(ours[type_]), parameters)
        assert ours_settings == settings(theirs[type_]), type_


def resolve_defaults(value: Any, parameters: dict[str, Any]) -> Any:
    """Parameters replaced by their defaults, as the construct's props are by theirs."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]].get("Default")
        return {k: resolve_defaults(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_defaults(item, parameters) for item in value]
    return value


def test_each_region_is_declared_as_the_construct_declares_its_override(
    stackset_template: dict[str, Any], synthesized: dict[str, Any]
) -> None:
    (construct_override,) = (r for r in synthesized["Resources"].values() if r["Type"] == OVERRIDE_TYPE)
    theirs = construct_override["Properties"]
    parameters = stackset_template["Parameters"]
    overrides = [r for r in stackset_template["Resources"].values() if r["Type"] == OVERRIDE_TYPE]
    assert [o["Properties"]["Region"] for o in overrides] == ["eu-west-1", "us-east-1"]
    for override in overrides:
        ours = resolve_defaults(override["Properties"], parameters)
        # The construct sets Region only when asked to; here every region is named.
        assert set(ours) - {"Region"} == set(theirs)
        assert int(ours["ServiceTimeout"]) == int(theirs["ServiceTimeout"])
        assert ours["CertificateIdentifier"] == theirs["CertificateIdentifier"]
        assert ours["RestorePreviousOnDelete"] == theirs["RestorePreviousOnDelete"]
