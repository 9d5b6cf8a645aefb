"""The construct's API for its users: the synth warning on a CA id RDS does not publish, typed attributes."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from cdk_support import CloudAssembly, new_stack
from rds_certificate_override import (
    PUBLISHED_CERTIFICATE_AUTHORITIES,
    UNPUBLISHED_CERTIFICATE_WARNING,
    RdsCertificateOverride,
)

WARNING = Match.string_like_regexp("is not a CA that RDS publishes")


@pytest.mark.parametrize("near_miss", ["rds-ca-rsa4096", "rds-ca-rsa4096-g2", "rds-ca-2019"])
def test_a_ca_id_rds_does_not_publish_warns_at_synth(near_miss: str) -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier=near_miss)
    annotations = Annotations.from_stack(stack)
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(f"'{near_miss}' is not a CA"))
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(UNPUBLISHED_CERTIFICATE_WARNING))


@pytest.mark.parametrize(
    "certificate",
    [*PUBLISHED_CERTIFICATE_AUTHORITIES, "rds-ca-rsa2048-g1-il-central-1"],
)
def test_a_published_ca_or_a_region_suffixed_one_does_not_warn(certificate: str) -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier=certificate)
    Annotations.from_stack(stack).has_no_warning("*", WARNING)


def test_a_token_is_not_judged_at_synth() -> None:
    stack = new_stack()
    parameter = cdk.CfnParameter(stack, "Ca", default="rds-ca-rsa4096")
    RdsCertificateOverride(stack, "Override", certificate_identifier=parameter.value_as_string)
    Annotations.from_stack(stack).has_no_warning("*", WARNING)


def test_the_warning_can_be_acknowledged_by_its_id() -> None:
    stack = new_stack()
    override = RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096")
    cdk.Annotations.of(override).acknowledge_warning(UNPUBLISHED_CERTIFICATE_WARNING, "a private CA name")
    Annotations.from_stack(stack).has_no_warning("*", WARNING)


def test_the_resource_and_every_attribute_are_typed_members() -> None:
    stack = new_stack()
    override = RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    assert isinstance(override.resource, cdk.CustomResource)
    attributes = {
        "certificate_identifier": "CertificateIdentifier",
        "certificate_arn": "CertificateArn",
        "certificate_type": "CertificateType",
        "certificate_valid_from": "ValidFrom",
        "certificate_valid_till": "ValidTill",
        "customer_override_valid_till": "CustomerOverrideValidTill",
        "thumbprint": "Thumbprint",
        "previous_certificate_identifier": "PreviousCertificateIdentifier",
        "region": "Region",
    }
    for name, attribute in attributes.items():
        cdk.CfnOutput(stack, attribute, value=getattr(override, name))
    logical_id = stack.resolve(override.resource.node.default_child.logical_id)  # type: ignore[union-attr]
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    for name, attribute in attributes.items():
        assert outputs[attribute]["Value"] == {"Fn::GetAtt": [logical_id, attribute]}, name


def test_the_synthesized_template_has_no_literal_aws_arn(example_assembly: CloudAssembly) -> None:
    # CDK writes ARNs as {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ...]]}, the construct's own as
    # {"Fn::Sub": "arn:${AWS::Partition}:..."}.
    text = example_assembly.template_path.read_text()
    assert "arn:aws:" not in text
    assert not re.search(r'"arn:(?!\$\{AWS::Partition\}:)[^"]', text)
