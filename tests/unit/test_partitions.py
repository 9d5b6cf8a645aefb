"""Every ARN of template.yaml names its partition (${AWS::Partition}): the stack deploys in aws-cn, aws-us-gov
and aws-eusc as in aws. The CDK construct's counterpart is in tests/cdk/test_cdk_api.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LITERAL_ARN = re.compile(r"arn:(?!\$\{AWS::Partition\})")


class _NoManagedPolicies:
    """The template names no managed policy: the SAM translator needs no IAM lookup."""

    def load(self) -> dict[str, str]:
        return {}


def test_template_yaml_writes_every_arn_with_the_partition() -> None:
    assert LITERAL_ARN.findall(TEMPLATE.read_text()) == []


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_the_transformed_template_has_no_literal_aws_arn(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    template: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    # As `sam package` leaves it: the translator accepts only S3 code locations.
    template["Resources"]["RdsCertificateOverrideFunction"]["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    transformed = json.dumps(transform(template, {}, _NoManagedPolicies()))
    assert "arn:aws:" not in transformed
    assert LITERAL_ARN.findall(transformed.replace('"arn:", {"Ref": "AWS::Partition"}', "")) == []
