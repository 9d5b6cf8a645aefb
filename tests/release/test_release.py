"""`make release`: dist/release/ holds what a SAM, StackSet or CDK user installs, with checksums that match.

The function is built by lambda/Makefile (no SAM CLI), the construct's wheel and sdist by `uv build`, the
StackSet template by make stackset's generator. The SAM template's CodeUri names the zip, so that
`sam package` (tried here against moto's S3 on loopback) uploads the zip, the LICENSE and the README that
`sam publish` and `sam deploy` need.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import cfn_yaml
from moto.server import ThreadedMotoServer

from rds_override_local import settings
from rds_override_tools import stackset
from version import __version__

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "dist" / "release"
ZIP = f"rds-certificate-override-function-{__version__}.zip"
WHEEL = f"cdk_rds_certificate_override-{__version__}-py3-none-any.whl"
SDIST = f"cdk_rds_certificate_override-{__version__}.tar.gz"
EXPECTED = {
    "template.yaml",
    "stackset-template.json",
    ZIP,
    WHEEL,
    SDIST,
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "SHA256SUMS",
}
# Every module of lambda/ ships: the build copies them all.
FUNCTION_FILES = {path.name for path in (ROOT / "lambda").glob("*.py")}


@pytest.fixture(scope="module")
def release() -> Path:
    result = subprocess.run(
        ["make", "--no-print-directory", "release"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return RELEASE


def test_the_release_holds_what_users_install(release: Path) -> None:
    assert {path.name for path in release.iterdir()} == EXPECTED


def test_the_checksums_cover_every_file_and_match(release: Path) -> None:
    lines = (release / "SHA256SUMS").read_text().splitlines()
    sums = dict(reversed(line.split(maxsplit=1)) for line in lines)
    assert set(sums) == {path.name for path in release.iterdir()} - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name


def test_the_function_zip_holds_the_handler_and_its_dependencies_but_not_the_sdk(release: Path) -> None:
    names = set(zipfile.ZipFile(release / ZIP).namelist())
    top = {name.split("/")[0] for name in names}
    assert FUNCTION_FILES | {"crhelper", "aws_lambda_powertools"} <= top
    assert not top & {"boto3", "botocore", "s3transfer"}
    version_py = zipfile.ZipFile(release / ZIP).read("version.py").decode()
    assert f'__version__ = "{__version__}"' in version_py


def _template(release: Path) -> dict[str, Any]:
    return dict(cfn_yaml.load(str(release / "template.yaml")))


def test_the_sam_template_points_at_the_zip_and_carries_the_sar_metadata(release: Path) -> None:
    template = _template(release)
    function = template["Resources"]["RdsCertificateOverrideFunction"]
    assert function["Properties"]["CodeUri"] == ZIP
    assert "BuildMethod" not in function.get("Metadata", {})
    sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert sar["SemanticVersion"] == __version__
    assert (release / sar["LicenseUrl"]).is_file()
    assert (release / sar["ReadmeUrl"]).is_file()
    # Everything else is template.yaml's.
    source = dict(cfn_yaml.load(str(ROOT / "template.yaml")))
    del source["Resources"]["RdsCertificateOverrideFunction"]["Metadata"]["BuildMethod"]
    source["Resources"]["RdsCertificateOverrideFunction"]["Properties"]["CodeUri"] = ZIP
    assert template == source


def test_the_stackset_template_takes_the_release_zip_under_a_key_with_its_digest(release: Path) -> None:
    template = json.loads((release / "stackset-template.json").read_text())
    assert template["Parameters"][stackset.CODE_KEY]["Default"] == stackset.code_key_for(release / ZIP)
    assert "Transform" not in template


def test_sam_package_uploads_the_zip_the_license_and_the_readme(release: Path, tmp_path: Path) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=settings.REGION,
            aws_access_key_id=settings.DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=settings.DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        s3.create_bucket(Bucket="releases", CreateBucketConfiguration={"LocationConstraint": settings.REGION})
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": endpoint,  # nothing reaches AWS: every SDK call goes to moto on loopback
            **settings.DUMMY_CREDENTIALS,
            "AWS_REGION": settings.REGION,
            "AWS_DEFAULT_REGION": settings.REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "SAM_CLI_TELEMETRY": "0",
        }
        packaged = tmp_path / "packaged.yaml"
        result = subprocess.run(  # noqa: S603 - a fixed argv
            [
                str(Path(sys.executable).with_name("sam")),
                "package",
                "--template-file",
                str(release / "template.yaml"),
                "--s3-bucket",
                "releases",
                "--output-template-file",
                str(packaged),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        uploaded = {obj["Key"]: obj["Size"] for obj in s3.list_objects_v2(Bucket="releases")["Contents"]}
    finally:
        server.stop()
    template = dict(cfn_yaml.load(str(packaged)))
    code_uri = template["Resources"]["RdsCertificateOverrideFunction"]["Properties"]["CodeUri"]
    sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
    for uri, local in ((code_uri, ZIP), (sar["LicenseUrl"], "LICENSE"), (sar["ReadmeUrl"], "README.md")):
        assert uri.startswith("s3://releases/")
        assert uploaded[uri.removeprefix("s3://releases/")] == (release / local).stat().st_size


def test_the_wheel_carries_the_version_the_license_and_the_function(release: Path) -> None:
    wheel = zipfile.ZipFile(release / WHEEL)
    dist_info = f"cdk_rds_certificate_override-{__version__}.dist-info"
    metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    assert metadata["Name"] == "cdk-rds-certificate-override"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert wheel.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    function = {
        name.removeprefix("rds_certificate_override/function/")
        for name in wheel.namelist()
        if name.startswith("rds_certificate_override/function/")
    }
    assert function == {name for name in zipfile.ZipFile(release / ZIP).namelist() if not name.endswith("/")}


def test_the_sdist_carries_the_function_and_the_license(release: Path) -> None:
    with tarfile.open(release / SDIST) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    root = "src/rds_certificate_override/function/"
    assert {root + name for name in FUNCTION_FILES} <= names
    assert {"LICENSE", "pyproject.toml", "hatch_build.py", "README.md"} <= names
