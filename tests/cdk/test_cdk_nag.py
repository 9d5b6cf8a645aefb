"""cdk-nag's AwsSolutions pack (cdk-nag 3: a CDK policy validation plugin) finds nothing left to fix.

The construct acknowledges its two deliberate findings itself, through CDK's Validations API, each with its
reason; everything else must pass unacknowledged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

import app as example_app
from cdk_support import NO_BUNDLING
from rds_certificate_override import RdsCertificateOverride

# Qualified with the plugin's name (`plugin::rule`), as cdk-nag's own messages ask: CDK itself then
# filters the acknowledged findings out of the plugin's report.
EXPECTED_ACKNOWLEDGEMENTS = {
    "RdsCertificateOverrideProvider/Role": [
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:<AWS::AccountId>:parameter/"
        "rds-certificate-override/*]",
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:"
        "stack/*/*]",
    ],
    "RdsCertificateOverrideProvider/Function": ["AwsSolutions::AwsSolutions-L1"],
}


def checked_app(outdir: Path) -> cdk.App:
    app = cdk.App(outdir=str(outdir), context=NO_BUNDLING)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def report(outdir: Path) -> dict[str, Any]:
    return dict(json.loads((outdir / "validation-report.json").read_text()))


def assert_clean(outdir: Path) -> None:
    [nag] = report(outdir)["pluginReports"]
    assert nag["pluginName"] == "AwsSolutions"
    assert (nag["conclusion"], nag["violations"]) == ("success", [])


def acknowledgements(outdir: Path, stack_name: str) -> dict[str, dict[str, str]]:
    metadata = json.loads((outdir / f"{stack_name}.metadata.json").read_text())
    found: dict[str, dict[str, str]] = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.setdefault(path.removeprefix(f"/{stack_name}/"), {}).update(entry["data"])
    return found


def test_the_example_app_passes_aws_solutions_checks(tmp_path: Path) -> None:
    app = checked_app(tmp_path)
    example_app.example_stack(app)
    app.synth()  # raises ValidationFailed on any unacknowledged finding
    assert_clean(tmp_path)


def test_several_overrides_pass_too(tmp_path: Path) -> None:
    app = checked_app(tmp_path)
    stack = cdk.Stack(app, "Several")
    RdsCertificateOverride(stack, "Here", certificate_identifier="rds-ca-rsa4096-g1")
    RdsCertificateOverride(
        stack,
        "Virginia",
        certificate_identifier="rds-ca-ecc384-g1",
        region="us-east-1",
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    app.synth()
    assert_clean(tmp_path)


def test_each_acknowledgement_is_the_expected_one_and_says_why(tmp_path: Path) -> None:
    app = checked_app(tmp_path)
    stack = cdk.Stack(app, "Acknowledged")
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    app.synth()
    found = acknowledgements(tmp_path, "Acknowledged")
    assert {path: sorted(rules) for path, rules in found.items()} == {
        path: sorted(rules) for path, rules in EXPECTED_ACKNOWLEDGEMENTS.items()
    }
    reasons = [reason for rules in found.values() for reason in rules.values()]
    assert all(len(reason) > 40 for reason in reasons), reasons
    assert (
        "support no resource ARNs"
        in found["RdsCertificateOverrideProvider/Role"]["AwsSolutions::AwsSolutions-IAM5[Resource::*]"]
    )
    assert (
        "python3.13 is deliberate"
        in found["RdsCertificateOverrideProvider/Function"]["AwsSolutions::AwsSolutions-L1"]
    )


def test_the_checks_do_run_and_the_acknowledgements_cover_the_construct_only(tmp_path: Path) -> None:
    # A control: a wildcard policy of the user's own next to the override is still reported, and the
    # construct's acknowledgements do not leak to it.
    app = checked_app(tmp_path)
    stack = cdk.Stack(app, "Control")
    RdsCertificateOverride(stack, "Override", certificate_identifier="rds-ca-rsa4096-g1")
    role = iam.Role(stack, "UserRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["rds:DescribeCertificates"], resources=["*"]))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    violations = report(tmp_path)["pluginReports"][0]["violations"]
    paths = {c["constructPath"] for v in violations for c in v["violatingConstructs"]}
    assert paths and all(path.startswith("Control/UserRole/") for path in paths), paths
