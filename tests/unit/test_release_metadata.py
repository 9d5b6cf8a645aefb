"""Release metadata: one version (lambda/version.py) wherever it is shown, the licence, samconfig.toml."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from rds_override_local import settings
from version import __version__

ROOT = Path(__file__).resolve().parents[2]
# The Apache License 2.0 as https://www.apache.org/licenses/LICENSE-2.0.txt serves it, byte for byte.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _sar_metadata() -> dict[str, Any]:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    return dict(template["Metadata"]["AWS::ServerlessRepo::Application"])


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_sar_metadata_is_complete_and_its_version_is_the_release_version() -> None:
    sar = _sar_metadata()
    assert sar["SemanticVersion"] == __version__
    assert sar["SpdxLicenseId"] == "Apache-2.0"
    assert (ROOT / sar["LicenseUrl"]).is_file()
    assert (ROOT / sar["ReadmeUrl"]).is_file()
    assert sar["SourceCodeUrl"].startswith("https://")
    # SAR's own constraints on these fields.
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", sar["Author"])
    assert re.fullmatch(r"[a-zA-Z0-9\-]+", sar["Name"])
    assert 1 <= len(sar["Description"]) <= 256


def test_the_changelog_keeps_a_changelog_and_its_latest_release_is_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "[Keep a Changelog](https://keepachangelog.com/en/1.1.0/)" in text
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, re.MULTILINE)
    assert releases[0] == __version__
    assert text.index("## [Unreleased]") < text.index(f"## [{__version__}]")
    assert re.search(rf"^\[{re.escape(__version__)}\]: https://", text, re.MULTILINE)


def test_the_cdk_package_takes_the_same_version() -> None:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "cdk" / "hatch_build.py")
    assert spec and spec.loader
    hatch_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hatch_build)
    assert hatch_build.read_version(ROOT / "cdk") == __version__


def test_the_operator_package_takes_the_same_version() -> None:
    assert importlib.metadata.version("rds-certificate-override") == __version__


def test_the_license_is_the_full_apache_2_0_text_in_both_packages() -> None:
    for path in (ROOT / "LICENSE", ROOT / "cdk" / "LICENSE"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == APACHE_2_0_SHA256, path
    for pyproject in (ROOT / "pyproject.toml", ROOT / "cdk" / "pyproject.toml"):
        assert tomllib.loads(pyproject.read_text())["project"]["license"] == "Apache-2.0"


def test_samconfig_names_the_readmes_stack_and_no_region_or_account() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["default"]["global"]["parameters"]["stack_name"] == "rds-certificate-override"
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy == {"capabilities": "CAPABILITY_IAM", "resolve_s3": True, "confirm_changeset": True}
    tables = [config["default"][command]["parameters"] for command in config["default"]]
    assert not any("region" in table for table in tables)
    assert not re.search(r"\b\d{12}\b", (ROOT / "samconfig.toml").read_text())
    readme = (ROOT / "README.md").read_text()
    assert "rds-certificate-override-ServiceToken" in readme


def test_sam_deploy_guided_proposes_the_readmes_stack_name() -> None:
    # stdin at EOF: SAM shows its first prompt, with the default it read from samconfig.toml, and stops.
    # The endpoint is a closed local port: nothing could reach AWS even if it tried.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **settings.DUMMY_CREDENTIALS,
        "AWS_REGION": settings.REGION,
        "SAM_CLI_TELEMETRY": "0",
    }
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [str(Path(sys.executable).with_name("sam")), "deploy", "--guided"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Stack Name [rds-certificate-override]:" in result.stdout
