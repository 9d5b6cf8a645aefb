"""The construct's API for its users: the synth warning on a CA id RDS does not publish, typed attributes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from cdk_support import ROOT, CloudAssembly, new_stack
from rds_certificate_override import (
    PUBLISHED_CERTIFICATE_AUTHORITIES,
    UNPUBLISHED_CERTIFICATE_WARNING,
    RdsCertificateOverride,
)

WARNING = Match.string_like_regexp("is not a CA that RDS publishes")


@pytest.mark.parametrize("near_miss", ["rds-ca-rsa4096", "rds-ca-rsa4096-g2"])
def test_a_ca_id_rds_does_not_publish_warns_at_synth(near_miss: str) -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier=near_miss)
    annotations = Annotations.from_stack(stack)
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(f"'{near_miss}' is not a CA"))
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(UNPUBLISHED_CERTIFICATE_WARNING))


@pytest.mark.parametrize(("expired", "day"), [("rds-ca-2019", "2024-08-22"), ("rds-ca-2015", "2020-03-05")])
def test_an_expired_ca_warns_that_it_expired_and_when(expired: str, day: str) -> None:
    stack = new_stack()
    RdsCertificateOverride(stack, "Override", certificate_identifier=expired)
    annotations = Annotations.from_stack(stack)
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(f"'{expired}' expired on {day}"))
    annotations.has_warning("/Stack/Override", Match.string_like_regexp(UNPUBLISHED_CERTIFICATE_WARNING))


APP = """
import aws_cdk as cdk
from rds_certificate_override import UNPUBLISHED_CERTIFICATE_WARNING, RdsCertificateOverride

app = cdk.App()
stack = cdk.Stack(app, "Stack")
RdsCertificateOverride(stack, "NearMiss", certificate_identifier="rds-ca-rsa4096")
known = RdsCertificateOverride(stack, "Known", certificate_identifier="rds-ca-private", region="us-east-1")
cdk.Annotations.of(known).acknowledge_warning(UNPUBLISHED_CERTIFICATE_WARNING, "our own CA")
app.synth()
"""


@pytest.mark.parametrize("cli", [False, True])
def test_python_app_py_prints_the_warning_which_the_cdk_cli_prints_itself(cli: bool, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env=env | ({"CDK_CLI_VERSION": "2.1000.0", "CDK_OUTDIR": str(tmp_path / "cdk.out")} if cli else {}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if cli:  # the CLI reads the warning from the cloud assembly and prints it: once
        assert result.stderr == ""
    else:
        assert result.stderr == (
            "[Warning at /Stack/NearMiss] certificate_identifier 'rds-ca-rsa4096' is not a CA that RDS "
            "publishes (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1, or one of them with a region "
            "suffix): the deployment fails unless the target region's DescribeCertificates lists it. "
            f"[ack: {UNPUBLISHED_CERTIFICATE_WARNING}]\n"
        )


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


ATTRIBUTES = {
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


def test_the_readmes_attribute_table_lists_every_attribute() -> None:
    text = (ROOT / "cdk" / "README.md").read_text()
    assert {name for name in ATTRIBUTES if f"| `{name}` | `str` (token) |" not in text} == set()


def test_the_resource_and_every_attribute_are_typed_members() -> None:
    stack = new_stack()
    override = RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    assert isinstance(override.resource, cdk.CustomResource)
    attributes = ATTRIBUTES
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
