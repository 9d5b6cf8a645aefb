"""`make policy-hook`: the Guard Hook template and its data refresh function's zip, which is the operator
package alone (no dependencies, no build paths) and runs the handler the template names."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "dist" / "policy-hook"


@pytest.fixture(scope="module")
def built() -> zipfile.ZipFile:
    subprocess.run(["make", "policy-hook"], cwd=ROOT, check=True, capture_output=True)  # noqa: S607
    return zipfile.ZipFile(OUT / "policy-data-function.zip")


def test_the_template_is_policys(built: zipfile.ZipFile) -> None:
    assert (OUT / "template.yaml").read_bytes() == (ROOT / "policy" / "guard-hook.yaml").read_bytes()


def test_the_zip_holds_the_handler_the_rules_and_the_ledger_only(built: zipfile.ZipFile) -> None:
    names = built.namelist()
    assert {name.split("/")[0] for name in names} == {"rds_override_tools", "rds_override_ledger"}
    assert "rds_override_tools/policy_refresh.py" in names
    for rule_file in ("rds-ca.guard", "rds-ca-warnings.guard"):
        assert (
            built.read(f"rds_override_tools/policy_rules/{rule_file}")
            == (ROOT / "policy" / rule_file).read_bytes()
        )
    assert not [name for name in names if name.endswith(".pyc") or ".dist-info/" in name]
