"""The operator package's wheel (`rds-certificate-override`): the operator commands alone, with the fewest
dependencies; the local stand-ins are never in it (docs/design.md, "What ships")."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The operator commands, and the ledger's format they share with the function (lambda/rds_override_ledger).
PACKAGES = {
    "rds_override_tools": ROOT / "src" / "rds_override_tools",
    "rds_override_ledger": ROOT / "lambda" / "rds_override_ledger",
}

# policy/ (the Guard rules and the hook template), shipped as rds_override_tools/policy_rules (a symlink).
RULE_FILES = {f"policy_rules/{path.name}" for path in (ROOT / "policy").iterdir()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("rds_certificate_override-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_depends_on_boto3_tqdm_cryptography_the_translator_and_the_guard_engine_only_as_extras(
    wheel: zipfile.ZipFile,
) -> None:
    (metadata_name,) = (name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert sorted(metadata.get_all("Requires-Dist") or []) == [
        "aws-sam-translator; extra == 'stackset'",
        "boto3",
        "cfn-guard-rs==0.3.3; extra == 'policy'",
        "cryptography>=45",  # check-trust-store's PEM, DER and PKCS#12 readers
        "pyyaml; extra == 'policy'",
        "tqdm",
    ]
    assert sorted(metadata.get_all("Provides-Extra") or []) == ["policy", "stackset"]


def test_the_wheel_holds_the_operator_commands_and_none_of_the_stand_ins(wheel: zipfile.ZipFile) -> None:
    modules = {name for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert {name.split("/")[0] for name in modules} == set(PACKAGES)
    for package, source in PACKAGES.items():
        assert {name.removeprefix(f"{package}/") for name in modules if name.startswith(f"{package}/")} == {
            path.name for path in source.iterdir() if path.is_file()
        } | (RULE_FILES if package == "rds_override_tools" else set())
        for path in source.glob("*.py"):
            imports = [
                line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))
            ]
            assert not [line for line in imports if "rds_override_local" in line or "moto" in line], path


def test_stackset_without_the_translator_names_the_extra_to_install() -> None:
    # samtranslator made unimportable, as in an install without the `stackset` extra.
    code = "import sys; sys.modules['samtranslator'] = None; import rds_override_tools.stackset"
    result = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "install the `stackset` extra" in result.stderr
    assert "rds-certificate-override[stackset]" in result.stderr


def test_policy_check_without_the_guard_engine_names_the_extra_to_install() -> None:
    # cfn_guard_rs made unimportable, as in an install without the `policy` extra.
    code = (
        "import sys; sys.modules['cfn_guard_rs'] = None; from rds_override_tools import cli; "
        "sys.exit(cli.main(['policy-check', 'template.yaml', '--data', 'x.json']))"
    )
    result = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 2
    assert "pip install 'rds-certificate-override[policy]'" in result.stderr
    assert "Traceback" not in result.stderr
