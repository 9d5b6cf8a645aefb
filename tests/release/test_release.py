"""`make release`: dist/release/ holds what SAM, StackSet, CDK and fleet users install, byte for byte.

tools/release.py builds the function with lambda/Makefile (no SAM CLI), the wheels and the sdist with
`uv build`, the StackSet template with make stackset's generator. The SAM template's CodeUri and the
StackSet template's CodeKey both name the zip shipped, `...-<version>-<digest of its content>.zip`, so that
`sam package` (tried here against moto's S3 on loopback) uploads the zip, the LICENSE and the README that
`sam publish` and `sam deploy` need. A second build, elsewhere and later, must give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import time
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
ZIP_PATTERN = re.compile(rf"rds-certificate-override-function-{re.escape(__version__)}-[0-9a-f]{{16}}\.zip")
WHEEL = f"cdk_rds_certificate_override-{__version__}-py3-none-any.whl"
SDIST = f"cdk_rds_certificate_override-{__version__}.tar.gz"
OPERATOR_WHEEL = f"rds_certificate_override-{__version__}-py3-none-any.whl"
# docs/index.md is README.md, docs/cdk.md the CDK package's README.
DOCS_PAGES = {page.stem for page in (ROOT / "docs").glob("*.md")}
EXPECTED = {
    "template.yaml",
    "stackset-template.json",
    WHEEL,
    SDIST,
    OPERATOR_WHEEL,
    "LICENSE",
    "CHANGELOG.md",
    "member-roles.yaml",
    "SHA256SUMS",
    # The documentation: README.md, the CDK package's README, and each page of docs/ flat beside them.
    "README.md",
    "README-cdk.md",
    *(f"{page.upper()}.md" for page in DOCS_PAGES - {"index", "cdk"}),
}
# Every module of lambda/ ships: the build copies them all.
FUNCTION_FILES = {path.name for path in (ROOT / "lambda").glob("*.py")}
# make's own variables would make a nested make think it is a sub-make of pytest's caller.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}


@pytest.fixture(scope="module")
def release() -> Path:
    result = subprocess.run(
        ["make", "--no-print-directory", "release"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return RELEASE


def _zip_name(release: Path) -> str:
    (name,) = [path.name for path in release.glob("*.zip")]
    return name


def test_the_release_holds_what_users_install(release: Path) -> None:
    names = {path.name for path in release.iterdir()}
    assert ZIP_PATTERN.fullmatch(_zip_name(release))
    assert names == EXPECTED | {_zip_name(release)}


def _release_from_a_clone(clone: Path, out: Path, *extras: str) -> dict[str, str]:
    """A fresh clone of this commit at `clone`, with a virtual environment of its own, released into `out`
    as `make release` there would (uv run sets VIRTUAL_ENV): returns SHA256SUMS as {name: digest}."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    uv = str(ROOT / ".tools" / "bin" / "uv")
    for argv, cwd in (
        (["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], ROOT),
        (["git", "checkout", "--quiet", head], clone),
        ([uv, "venv", "--quiet", "--python", sys.executable, str(clone / ".venv")], clone),
    ):
        subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=True)  # noqa: S603
    env = ENV | {
        "VIRTUAL_ENV": str(clone / ".venv"),
        "UV": uv,
        "PYTHONPATH": str(clone / "src"),  # the clone's operator package (stackset), not this checkout's
    }
    extra_args = [arg for extra in extras for arg in ("--extra", extra)]
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [sys.executable, "tools/release.py", "--out", str(out), *extra_args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (out / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_two_clones_of_the_commit_in_different_folders_release_the_same_bytes(tmp_path: Path) -> None:
    # Two clones whose paths differ in length, each with its own virtual environment (whose path a
    # console script's shebang, and so a dist-info RECORD, would carry), two output folders, one more file
    # shipped by the second (RELEASE_EXTRAS): nothing of the paths may reach the files, and the extra file
    # joins them, its checksum with theirs.
    extra = tmp_path / "member-role.yaml"
    extra.write_text("AWSTemplateFormatVersion: '2010-09-09'\n")
    first = _release_from_a_clone(tmp_path / "a", tmp_path / "out", "member-roles.yaml")
    second = _release_from_a_clone(
        tmp_path / "a-much-longer-folder" / "clone",
        tmp_path / "elsewhere" / "release",
        "member-roles.yaml",  # as make release ships it (RELEASE_EXTRAS)
        str(extra),
    )
    assert second.pop(extra.name) == hashlib.sha256(extra.read_bytes()).hexdigest()
    assert second == first
    assert ZIP_PATTERN.fullmatch(next(name for name in first if name.endswith(".zip")))


def test_an_extra_file_that_is_missing_stops_the_release_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [
            sys.executable,
            "tools/release.py",
            "--out",
            str(tmp_path / "out"),
            "--extra",
            str(tmp_path / "no.yaml"),
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"--extra {tmp_path / 'no.yaml'}: no such file" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_region_list_it_cannot_read_stops_the_release_before_anything_is_built(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [
            sys.executable,
            "tools/release.py",
            "--out",
            str(tmp_path / "out"),
            "--regions",
            "eu-west-1;us-east-1",
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "--regions: cannot read 'eu-west-1;us-east-1' as a region name: separate regions with" in (
        result.stderr
    )
    assert "building" not in result.stdout
    assert not (tmp_path / "out").exists()


def test_the_names_the_templates_reference_are_the_files_shipped(release: Path) -> None:
    code_uri = _template(release)["Resources"]["RdsCertificateOverrideFunction"]["Properties"]["CodeUri"]
    stackset_template = json.loads((release / "stackset-template.json").read_text())
    code_key = stackset_template["Parameters"][stackset.CODE_KEY]["Default"]
    assert code_uri == code_key == _zip_name(release)


def test_the_docs_link_only_files_that_ship(release: Path) -> None:
    pages = sorted(release.glob("*.md"))
    assert {"README.md", "README-cdk.md", "DESIGN.md", "ORGANIZATION.md"} <= {page.name for page in pages}
    for page in pages:
        links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text())
        local = {link for link in links if "://" not in link}
        assert {link for link in local if not (release / link).is_file()} == set(), page.name
        assert "--8<--" not in page.read_text(), f"{page.name}: an include left unexpanded"


def test_the_install_page_lists_every_file_shipped(release: Path) -> None:
    install = (ROOT / "docs" / "install.md").read_text()
    table = {row.split(" | ")[0] for row in install.splitlines() if row.startswith("| `")}
    listed = set(re.findall(r"`([^`]+)`", " ".join(table)))
    generic = {
        path.name.replace(__version__, "<version>").replace(_zip_name(release)[-20:-4], "<digest>")
        for path in release.iterdir()
    }
    pages = {f"{page.upper()}.md" for page in DOCS_PAGES}
    assert "each page of `docs/`" in install
    assert generic - pages - listed == set()


def test_the_function_zip_has_fixed_times_and_permissions_in_order(release: Path) -> None:
    infos = zipfile.ZipFile(release / _zip_name(release)).infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {_commit_time()}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def _commit_time() -> tuple[int, ...]:
    epoch = subprocess.run(
        ["git", "log", "-1", "--format=%ct"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stamp = time.gmtime(int(epoch))
    return (*stamp[:5], stamp.tm_sec // 2 * 2)  # zip times have a 2 s resolution


def test_the_checksums_cover_every_file_and_match(release: Path) -> None:
    lines = (release / "SHA256SUMS").read_text().splitlines()
    sums = dict(reversed(line.split(maxsplit=1)) for line in lines)
    assert set(sums) == {path.name for path in release.iterdir()} - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name


def test_the_function_zip_holds_the_handler_and_its_dependencies_but_not_the_sdk(release: Path) -> None:
    names = set(zipfile.ZipFile(release / _zip_name(release)).namelist())
    top = {name.split("/")[0] for name in names}
    assert FUNCTION_FILES | {"crhelper", "aws_lambda_powertools"} <= top
    assert not top & {"boto3", "botocore", "s3transfer"}
    version_py = zipfile.ZipFile(release / _zip_name(release)).read("version.py").decode()
    assert f'__version__ = "{__version__}"' in version_py


def _template(release: Path) -> dict[str, Any]:
    return dict(cfn_yaml.load(str(release / "template.yaml")))


def test_the_sam_template_points_at_the_zip_and_carries_the_sar_metadata(release: Path) -> None:
    template = _template(release)
    function = template["Resources"]["RdsCertificateOverrideFunction"]
    assert function["Properties"]["CodeUri"] == _zip_name(release)
    assert "BuildMethod" not in function.get("Metadata", {})
    sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert sar["SemanticVersion"] == __version__
    assert (release / sar["LicenseUrl"]).is_file()
    assert (release / sar["ReadmeUrl"]).is_file()
    # Everything else is template.yaml's.
    source = dict(cfn_yaml.load(str(ROOT / "template.yaml")))
    del source["Resources"]["RdsCertificateOverrideFunction"]["Metadata"]["BuildMethod"]
    source["Resources"]["RdsCertificateOverrideFunction"]["Properties"]["CodeUri"] = _zip_name(release)
    assert template == source


def test_the_stackset_template_takes_the_release_zip_under_a_key_with_its_digest(release: Path) -> None:
    template = json.loads((release / "stackset-template.json").read_text())
    digest = stackset.content_digest(release / _zip_name(release))[:16]
    assert (
        template["Parameters"][stackset.CODE_KEY]["Default"]
        == f"rds-certificate-override-function-{__version__}-{digest}.zip"
    )
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
    for uri, local in (
        (code_uri, _zip_name(release)),
        (sar["LicenseUrl"], "LICENSE"),
        (sar["ReadmeUrl"], "README.md"),
    ):
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
    assert function == set(zipfile.ZipFile(release / _zip_name(release)).namelist())


def test_the_sdist_carries_the_function_and_the_license(release: Path) -> None:
    with tarfile.open(release / SDIST) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    root = "src/rds_certificate_override/function/"
    assert {root + name for name in FUNCTION_FILES} <= names
    assert {"LICENSE", "pyproject.toml", "hatch_build.py", "README.md"} <= names


def test_the_operator_wheel_installs_alone_and_its_command_runs(release: Path, tmp_path: Path) -> None:
    # As docs/status.md installs it, in a virtual environment of its own, from the package index, with the
    # versions of uv.lock: what the wheel asks for must be enough. A cache of its own, empty: nothing an
    # earlier run left on this machine (a warm uv cache) may make it pass (.ci/run also starts with none).
    uv = str(ROOT / ".tools" / "bin" / "uv")
    constraints = tmp_path / "constraints.txt"
    venv = tmp_path / "venv"
    uv_env = {k: v for k, v in os.environ.items() if k != "UV_OFFLINE"} | {
        "UV_CACHE_DIR": str(tmp_path / "cache")
    }
    for argv in (
        [
            uv,
            "export",
            "--quiet",
            "--frozen",
            "--no-default-groups",
            "--no-emit-project",
            "--no-hashes",
            "-o",
            str(constraints),
        ],
        [uv, "venv", "--quiet", str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(constraints),
            str(release / OPERATOR_WHEEL),
        ],
    ):
        done = subprocess.run(  # noqa: S603 - a fixed argv
            argv, cwd=ROOT, env=uv_env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
    env = {
        "PATH": os.environ["PATH"],
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    command = str(venv / "bin" / "rds-certificate-override")
    helped = subprocess.run(  # noqa: S603 - the command just installed
        [command, "status", "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0 and "--organization" in helped.stdout, helped.stderr
    versioned = subprocess.run(  # noqa: S603
        [command, "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert versioned.stdout == f"rds-certificate-override {__version__}\n", versioned.stderr
    refused = subprocess.run(  # noqa: S603
        [command, "status", "--regions", "eu-wst-9"], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "--regions: unknown in partition aws: eu-wst-9" in refused.stderr


def test_the_operator_wheel_holds_the_status_command(release: Path) -> None:
    wheel = zipfile.ZipFile(release / OPERATOR_WHEEL)
    dist_info = f"rds_certificate_override-{__version__}.dist-info"
    metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    assert metadata["Version"] == __version__
    assert (
        "rds-certificate-override = rds_override_tools.cli:main"
        in wheel.read(f"{dist_info}/entry_points.txt").decode()
    )
    assert "rds_override_tools/cli.py" in wheel.namelist()
    # The operator command alone: no stand-ins, and only boto3, tqdm and cryptography (check-trust-store's
    # readers); the SAM translator is an extra.
    assert not [name for name in wheel.namelist() if "local" in name or "rds_override_local" in name]
    required = metadata.get_all("Requires-Dist")
    assert [name for name in required if "extra ==" not in name] == ["boto3", "cryptography>=45", "tqdm"]
