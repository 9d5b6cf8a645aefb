"""End to end: the example app synthesized as `make synth` does, then its function played through a
CloudFormation lifecycle on the RDS emulator, from the asset directory of the cloud assembly, with the
demo's driver (each invocation a fresh process that sees only the asset and boto3, as in Lambda).
"""

from __future__ import annotations

import filecmp
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from cdk_support import RUNTIME_SDK, SNAPSHOT, CloudAssembly, normalized, only, resources_of
from rds_certificate_override import asset_directory
from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.demo import run_demo

pytestmark = pytest.mark.e2e

CLOUDFORMATION_PROPERTIES = ("ServiceToken", "ServiceTimeout")


@pytest.fixture(scope="module")
def function(example_assembly: CloudAssembly) -> dict[str, Any]:
    _, resource = only(resources_of(example_assembly.template, "AWS::Lambda::Function"))
    return dict(resource["Properties"])


@pytest.fixture(scope="module")
def asset(example_assembly: CloudAssembly, function: dict[str, Any]) -> Path:
    return example_assembly.asset_directory(function["Code"]["S3Key"])


@pytest.fixture
def stack(asset: Path, function: dict[str, Any]) -> Iterator[LocalCloud]:
    assert RUNTIME_SDK.is_dir(), f"{RUNTIME_SDK} is missing: run the tests with `make test`, which builds it"
    with local_cloud(
        [str(asset), str(RUNTIME_SDK)], python=os.environ.get("RUNTIME_PYTHON") or None
    ) as local:
        # The function's settings as synthesized.
        variables = function["Environment"]["Variables"]
        assert local.function.env["POWERTOOLS_SERVICE_NAME"] == variables["POWERTOOLS_SERVICE_NAME"]
        local.function.env["POWERTOOLS_LOG_LEVEL"] = variables["POWERTOOLS_LOG_LEVEL"]
        local.function.timeout_s = function["Timeout"]
        yield local


def test_the_assembly_stages_the_packaged_function(asset: Path, function: dict[str, Any]) -> None:
    assert function["Handler"] == "index.handler" and (asset / "index.py").is_file()
    comparison = filecmp.dircmp(asset, asset_directory())
    assert not comparison.left_only and not comparison.right_only and not comparison.diff_files


def test_the_demo_lifecycle_through_the_cdk_asset(stack: LocalCloud) -> None:
    # Create -> Update -> Delete, then a failed Create and the Delete that follows it.
    assert run_demo(stack) == []


def test_the_synthesized_resource_creates_and_restores_on_delete(
    stack: LocalCloud, example_assembly: CloudAssembly
) -> None:
    template = example_assembly.template
    logical_id, resource = only(resources_of(template, "Custom::RdsCertificateOverride"))
    properties = {k: v for k, v in resource["Properties"].items() if k not in CLOUDFORMATION_PROPERTIES}
    assert properties["RestorePreviousOnDelete"] == "true"  # as CloudFormation would send it
    stack.logical_id = logical_id

    stack.rds().modify_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")  # someone's earlier override
    created = stack.send("Create", properties)
    assert created.response is not None and created.response["Status"] == "SUCCESS", created.logs
    assert stack.default_for_new_launches() == properties["CertificateIdentifier"]
    data = created.response["Data"]
    # Every attribute the stack reads (its outputs' GetAtts) is one the function returned, and not empty.
    wanted = {
        output["Value"]["Fn::GetAtt"][1]
        for output in template["Outputs"].values()
        if output["Value"]["Fn::GetAtt"][0] == logical_id
    }
    assert wanted and all(data.get(name) for name in wanted), (wanted, data)
    assert data["PreviousCertificateIdentifier"] == "rds-ca-rsa2048-g1"

    deleted = stack.send("Delete", properties, physical_id=created.response["PhysicalResourceId"])
    assert deleted.response is not None and deleted.response["Status"] == "SUCCESS", deleted.logs
    assert stack.default_for_new_launches() == "rds-ca-rsa2048-g1"


def test_the_synthesized_template_passes_cfn_lint(example_assembly: CloudAssembly) -> None:
    # W3005 (a DependsOn also implied by a GetAtt): CDK always makes a Function depend on its role.
    matches = lint_file(example_assembly.template_path, ManualArgs(ignore_checks=["W3005"]))
    assert [str(match) for match in matches] == []


def test_make_synth_output_is_the_snapshot(example_assembly: CloudAssembly) -> None:
    assert normalized(example_assembly.template) == SNAPSHOT.read_text(encoding="utf-8")
