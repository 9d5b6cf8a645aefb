"""`make deploy`, `make outputs`, `make delete`: the stack's region, or an error naming the target.

For deploy the credentials are also checked (one STS call), before the build and sam's questions.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from rds_override_local import settings
from rds_override_tools import stack_region

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"REGION": "eu-central-1", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"},
            "eu-central-1",
        ),
        ({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, "us-east-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
    ],
)
def test_the_region_given_first_wins(environ: dict[str, str], expected: str) -> None:
    assert stack_region.stack_region(environ) == expected


def test_the_region_sam_deploy_saved_is_used(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('version = 0.1\n[default.deploy.parameters]\nregion = "ap-southeast-2"\n')
    assert stack_region.saved_region(samconfig) == "ap-southeast-2"
    assert stack_region.saved_region(ROOT / "samconfig.toml") is None


def make(target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`make target` with no AWS settings at all: no credentials, no region, no instance metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "AWS_", "REGION"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true"
    )
    return subprocess.run(  # noqa: S603 - make and its variables, from the tests
        ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("target", ["delete", "outputs"])
def test_make_delete_or_outputs_without_a_region_says_how_to_give_one_naming_itself(target: str) -> None:
    result = make(target)
    assert result.returncode != 0
    assert (
        f"No region: say which region the stack is in, e.g. `make {target} REGION=eu-west-1`" in result.stderr
    )
    assert "sam " not in result.stdout


@pytest.mark.parametrize("target", ["deploy", "delete", "outputs"])
@pytest.mark.parametrize("variable", ["REGION", "AWS_REGION"])
def test_a_misspelt_region_is_refused_naming_the_valid_ones_before_anything_is_called(
    target: str, variable: str
) -> None:
    result = make(target, **{variable: "eu-wst-1"})
    assert result.returncode != 0
    assert result.stderr.startswith(
        f"{variable}=eu-wst-1 is not a region where RDS is available: valid regions are aws: af-south-1, "
    )
    assert "aws-eusc: eusc-de-east-1" in result.stderr
    assert f"then `make {target} REGION=<region>`" in result.stderr
    assert "No AWS credentials" not in result.stderr  # before the STS call of deploy
    assert "building the function" not in result.stdout
    assert "sam " not in result.stdout


def test_a_region_of_no_usual_shape_is_the_stacks_region() -> None:
    assert stack_region.unknown_region("eusc-de-east-1", "REGION=eusc-de-east-1", "delete") is None
    assert stack_region.given_region({"REGION": "eusc-de-east-1"}) == (
        "eusc-de-east-1",
        "REGION=eusc-de-east-1",
    )


def test_make_deploy_without_a_region_stops_before_building_or_asking() -> None:
    result = make("deploy")
    assert result.returncode != 0
    assert "No region: say where to deploy, e.g. `make deploy REGION=eu-west-1`" in result.stderr
    assert "building the function" not in result.stdout
    assert "Stack Name" not in result.stdout


def test_make_deploy_without_credentials_stops_before_building_or_asking() -> None:
    result = make("deploy", REGION="eu-west-1")
    assert result.returncode != 0
    assert result.stderr.startswith("No AWS credentials: sign in first, e.g. `aws sso login --profile NAME`")
    assert "then `make deploy`" in result.stderr
    assert "building the function" not in result.stdout
    assert "Stack Name" not in result.stdout


def test_the_credentials_are_checked_with_one_sts_call(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in settings.DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    calls: list[str] = []
    with mock_aws():
        session = boto3.session.Session
        monkeypatch.setattr(
            stack_region.boto3.session,
            "Session",
            lambda **kwargs: _recording(session(**kwargs), calls),
        )
        caller = stack_region.check_credentials("eu-west-1", "deploy")
    assert caller.startswith("arn:aws:sts::") or caller.startswith("arn:aws:iam::")
    assert calls == ["sts.GetCallerIdentity"]


def _recording(session: boto3.session.Session, calls: list[str]) -> boto3.session.Session:
    session.events.register(
        "before-call.*.*",
        lambda model, **_: calls.append(f"{model.service_model.endpoint_prefix}.{model.name}"),
    )
    return session


def test_credentials_sts_cannot_check_are_an_error_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in settings.DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a closed port: nothing reaches AWS
    with pytest.raises(
        stack_region.CredentialsError, match="Could not check the AWS credentials in eu-west-1"
    ):
        stack_region.check_credentials("eu-west-1", "deploy")
