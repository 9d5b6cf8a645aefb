"""RdsCertificateOverride, synthesized: the resource, its provider, IAM, removal policies, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from constructs import Construct

import rds_certificate_override._asset as asset_module
from cdk_support import new_app, new_stack
from rds_certificate_override import AssetMissingError, RdsCertificateOverride

CUSTOM = "Custom::RdsCertificateOverride"


def json_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# --- the resource ------------------------------------------------------------------------------------


def test_the_resource_passes_its_properties_as_cloudformation_would() -> None:
    stack = new_stack()
    RdsCertificateOverride(
        stack,
        "Override",
        certificate_identifier="rds-ca-ecc384-g1",
        region="us-east-1",
        restore_previous_on_delete=True,
    )
    Template.from_stack(stack).has_resource(
        CUSTOM,
        {
            "Properties": {
                "ServiceToken": {
                    "Fn::GetAtt": [Match.string_like_regexp("^RdsCertificateOverrideProvider"), "Arn"]
                },
                "ServiceTimeout": "300",
                "CertificateIdentifier": "rds-ca-ecc384-g1",
                "Region": "us-east-1",
                "RestorePreviousOnDelete": "true",
            },
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
        },
    )


def test_defaults_send_false_and_no_region() -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    # No Region: the function then manages its own region.
    Template.from_stack(stack).has_resource_properties(
        CUSTOM,
        Match.object_equals(
            {
                "ServiceToken": Match.any_value(),
                "ServiceTimeout": "300",
                "CertificateIdentifier": "rds-ca-rsa4096-g1",
                "RestorePreviousOnDelete": "false",
            }
        ),
    )


def test_the_main_child_is_resource_and_the_attributes_are_getatts() -> None:
    stack = new_stack()
    override = RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    custom = override.node.find_child("Resource")
    assert isinstance(custom, cdk.CustomResource)
    logical_id = stack.get_logical_id(custom.node.default_child)  # type: ignore[arg-type]
    expected = {
        "certificate_identifier": "CertificateIdentifier",
        "certificate_arn": "CertificateArn",
        "certificate_valid_till": "ValidTill",
        "customer_override_valid_till": "CustomerOverrideValidTill",
        "thumbprint": "Thumbprint",
        "previous_certificate_identifier": "PreviousCertificateIdentifier",
    }
    for attribute, name in expected.items():
        value = getattr(override, attribute)
        assert isinstance(value, str) and cdk.Token.is_unresolved(value)
        assert stack.resolve(value) == {"Fn::GetAtt": [logical_id, name]}
    assert isinstance(override.function, lambda_.Function)  # IFunction is a Protocol: no isinstance


def test_tokens_are_passed_through_unvalidated() -> None:
    stack = new_stack()
    certificate = cdk.CfnParameter(stack, "Certificate").value_as_string
    region = cdk.CfnParameter(stack, "Region").value_as_string
    RdsCertificateOverride(stack, "Override", certificate_identifier=certificate, region=region)
    Template.from_stack(stack).has_resource_properties(
        CUSTOM, {"CertificateIdentifier": {"Ref": "Certificate"}, "Region": {"Ref": "Region"}}
    )


# --- the provider ------------------------------------------------------------------------------------


def test_one_provider_function_serves_every_override_of_a_stack() -> None:
    stack = new_stack("eu-west-1")
    first = RdsCertificateOverride(stack, "Here", certificate_identifier="rds-ca-rsa4096-g1")
    second = RdsCertificateOverride(
        stack, "Virginia", certificate_identifier="rds-ca-rsa4096-g1", region="us-east-1"
    )
    nested = Construct(stack, "Nested")
    third = RdsCertificateOverride(
        nested, "Ohio", certificate_identifier="rds-ca-ecc384-g1", region="us-east-2"
    )
    template = Template.from_stack(stack)

    for type_, count in (
        ("AWS::Lambda::Function", 1),
        ("AWS::IAM::Role", 1),
        ("AWS::Logs::LogGroup", 1),
        ("AWS::IAM::Policy", 0),
        (CUSTOM, 3),
    ):
        template.resource_count_is(type_, count)
    [function_id] = template.find_resources("AWS::Lambda::Function")
    tokens = {json_of(r["Properties"]["ServiceToken"]) for r in template.find_resources(CUSTOM).values()}
    assert tokens == {json_of({"Fn::GetAtt": [function_id, "Arn"]})}
    assert first.function is second.function is third.function
    assert stack.node.try_find_child("RdsCertificateOverrideProvider") is not None


def test_each_stack_gets_its_own_provider() -> None:
    app = new_app()
    stacks = [new_stack(app=app, id=name) for name in ("One", "Two")]
    for stack in stacks:
        RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    for stack in stacks:
        Template.from_stack(stack).resource_count_is("AWS::Lambda::Function", 1)


def test_the_provider_function_settings() -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    template = Template.from_stack(stack)
    [log_group_id] = template.find_resources("AWS::Logs::LogGroup")
    [role_id] = template.find_resources("AWS::IAM::Role")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "index.handler",
            "Timeout": 120,
            "MemorySize": 256,
            # No reserved concurrency: it fails the deploy in accounts whose concurrency quota is 10.
            "ReservedConcurrentExecutions": Match.absent(),
            "Role": {"Fn::GetAtt": [role_id, "Arn"]},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": {"Ref": log_group_id}},
            "Environment": {
                "Variables": Match.object_equals(
                    {"POWERTOOLS_SERVICE_NAME": "rds-certificate-override", "POWERTOOLS_LOG_LEVEL": "INFO"}
                )
            },
            # The prebuilt asset: an S3 object, never a bundling step.
            "Code": {"S3Key": Match.string_like_regexp(r"^[0-9a-f]{64}\.zip$")},
        },
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": Match.object_equals({"RetentionInDays": 90}), "DeletionPolicy": "Delete"},
    )
    # A retried asynchronous event could only act after CloudFormation has moved on.
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"FunctionName": {"Ref": Match.any_value()}, "MaximumRetryAttempts": 0, "Qualifier": "$LATEST"},
    )


LEDGER_PARAMETERS = "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:parameter/rds-certificate-override/*"
DECLARING_STACKS = "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/*/*"


def test_the_role_may_do_the_two_rds_actions_keep_the_ledger_and_write_its_own_logs() -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    template = Template.from_stack(stack)
    [log_group_id] = template.find_resources("AWS::Logs::LogGroup")
    # Statements compared whole (object_equals): a Condition or an extra action would show in the diff.
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_equals(
                        {
                            "Action": "sts:AssumeRole",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    )
                ]
            },
            "ManagedPolicyArns": Match.absent(),  # no AWSLambdaBasicExecutionRole and its logs:*
            "Policies": [
                {
                    "PolicyDocument": {
                        "Statement": [
                            Match.object_equals(
                                {
                                    "Sid": "RdsDefaultCertificate",
                                    "Effect": "Allow",
                                    "Action": ["rds:DescribeCertificates", "rds:ModifyCertificates"],
                                    "Resource": "*",
                                }
                            ),
                            Match.object_equals(
                                {
                                    "Sid": "DeclarationsLedger",
                                    "Effect": "Allow",
                                    "Action": [
                                        "ssm:GetParametersByPath",
                                        "ssm:PutParameter",
                                        "ssm:DeleteParameter",
                                        "ssm:DeleteParameters",
                                    ],
                                    "Resource": {"Fn::Sub": LEDGER_PARAMETERS},
                                }
                            ),
                            Match.object_equals(
                                {
                                    "Sid": "DeclaringStacks",
                                    "Effect": "Allow",
                                    "Action": "cloudformation:DescribeStacks",
                                    "Resource": {"Fn::Sub": DECLARING_STACKS},
                                }
                            ),
                            Match.object_equals(
                                {
                                    "Sid": "OwnLogGroup",
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
                                }
                            ),
                        ]
                    }
                }
            ],
        },
    )
    # Nothing else anywhere grants the function anything.
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


# --- removal policies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "deletion", "update_replace"),
    [
        (cdk.RemovalPolicy.DESTROY, "Delete", "Delete"),
        (cdk.RemovalPolicy.RETAIN, "Retain", "Retain"),
        (cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, "RetainExceptOnCreate", "Retain"),
    ],
)
def test_removal_policies(policy: cdk.RemovalPolicy, deletion: str, update_replace: str) -> None:
    stack = new_stack()
    RdsCertificateOverride(
        stack, "Override", certificate_identifier="rds-ca-rsa4096-g1", removal_policy=policy
    )
    Template.from_stack(stack).has_resource(
        CUSTOM, {"DeletionPolicy": deletion, "UpdateReplacePolicy": update_replace}
    )


def test_the_snapshot_removal_policy_is_refused() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"RemovalPolicy.SNAPSHOT is not supported: .* nothing to snapshot"):
        RdsCertificateOverride(
            stack,
            "Override",
            certificate_identifier="rds-ca-rsa4096-g1",
            removal_policy=cdk.RemovalPolicy.SNAPSHOT,
        )


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("", "certificate_identifier is required"),
        ("   ", "certificate_identifier is required"),
        ("rds-ca-RSA4096-g1", "is not an RDS CA identifier"),
        ("rsa4096-g1", "is not an RDS CA identifier"),
        ("rds-ca-", "is not an RDS CA identifier"),
        ("rds-ca-rsa4096-g1 ", "is not an RDS CA identifier"),
        ("rds-ca-rsa4096-g1\n", "is not an RDS CA identifier"),
        ("arn:aws:rds:eu-west-1::cert:rds-ca-rsa4096-g1", "is not an RDS CA identifier"),
    ],
)
def test_a_malformed_certificate_identifier_is_refused(identifier: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RdsCertificateOverride(new_stack(), "Override", certificate_identifier=identifier)


@pytest.mark.parametrize(
    "identifier", ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1", "rds-ca-2019"]
)
def test_current_ca_identifiers_are_accepted(identifier: str) -> None:
    RdsCertificateOverride(new_stack(), "Override", certificate_identifier=identifier)


@pytest.mark.parametrize("region", ["", "eu-west", "EU-WEST-1", "eu_west_1", "europe", "eu-west-1\n"])
def test_a_malformed_region_is_refused(region: str) -> None:
    with pytest.raises(ValueError, match="is not an AWS region name"):
        RdsCertificateOverride(
            new_stack(), "Override", certificate_identifier="rds-ca-rsa4096-g1", region=region
        )


def test_a_non_boolean_restore_flag_is_refused() -> None:
    with pytest.raises(TypeError, match="restore_previous_on_delete must be a bool"):
        RdsCertificateOverride(
            new_stack(),
            "Override",
            certificate_identifier="rds-ca-rsa4096-g1",
            restore_previous_on_delete="false",  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("stack_region", "first", "second", "label"),
    [
        (None, None, None, "the stack's region"),
        ("eu-west-1", None, None, r"eu-west-1 \(the stack's region\)"),
        ("eu-west-1", None, "eu-west-1", "eu-west-1"),
        ("eu-west-1", "us-east-1", "us-east-1", "us-east-1"),
        (None, "us-east-1", "us-east-1", "us-east-1"),
    ],
)
def test_two_overrides_of_one_region_in_a_stack_are_refused(
    stack_region: str | None, first: str | None, second: str | None, label: str
) -> None:
    stack = new_stack(stack_region)
    RdsCertificateOverride(stack, "First", certificate_identifier="rds-ca-rsa4096-g1", region=first)
    with pytest.raises(
        ValueError, match=rf"Stack/Second: Stack/First already overrides .* of {label}"
    ) as raised:
        RdsCertificateOverride(stack, "Second", certificate_identifier="rds-ca-ecc384-g1", region=second)
    assert "one account-wide setting per region" in str(raised.value)
    assert "overwrite each other" in str(raised.value)
    assert stack.node.try_find_child("Second") is None  # refused before it joined the tree
    Template.from_stack(stack).resource_count_is(CUSTOM, 1)


@pytest.mark.parametrize(
    ("stack_region", "first", "second"),
    [
        (None, None, "us-east-1"),  # the stack's region is unknown until deployment: not a conflict yet
        ("eu-west-1", None, "us-east-1"),
        ("eu-west-1", "eu-west-2", "us-east-1"),
    ],
)
def test_overrides_of_different_regions_coexist(
    stack_region: str | None, first: str | None, second: str
) -> None:
    stack = new_stack(stack_region)
    RdsCertificateOverride(stack, "First", certificate_identifier="rds-ca-rsa4096-g1", region=first)
    RdsCertificateOverride(stack, "Second", certificate_identifier="rds-ca-rsa4096-g1", region=second)
    Template.from_stack(stack).resource_count_is(CUSTOM, 2)


def test_the_same_region_token_twice_is_refused_but_different_tokens_are_not() -> None:
    stack = new_stack()
    region = cdk.CfnParameter(stack, "Region").value_as_string
    other = cdk.CfnParameter(stack, "OtherRegion").value_as_string
    RdsCertificateOverride(stack, "First", certificate_identifier="rds-ca-rsa4096-g1", region=region)
    RdsCertificateOverride(stack, "Other", certificate_identifier="rds-ca-rsa4096-g1", region=other)
    with pytest.raises(ValueError, match="already overrides"):
        RdsCertificateOverride(stack, "Second", certificate_identifier="rds-ca-rsa4096-g1", region=region)


def test_a_missing_asset_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(asset_module, "ASSET_DIRECTORY", tmp_path / "function")
    with pytest.raises(AssetMissingError, match=r"run `make cdk-asset` \(it runs `make build`\).*reinstall"):
        RdsCertificateOverride(new_stack(), "Override", certificate_identifier="rds-ca-rsa4096-g1")


def test_a_foreign_construct_at_the_provider_id_is_reported() -> None:
    stack = new_stack()
    Construct(stack, "RdsCertificateOverrideProvider")
    with pytest.raises(TypeError, match="is not an RdsCertificateOverride provider"):
        RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
