"""`make delete`: sam delete of the README's stack in a region it can tell (stack_region), or an error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

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


def test_make_delete_without_a_region_says_how_to_give_one() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "AWS_", "REGION"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = subprocess.run(
        ["make", "--no-print-directory", "delete"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "No region: say which region the stack is in, e.g. `make delete REGION=eu-west-1`" in result.stderr
    assert "sam delete" not in result.stdout
