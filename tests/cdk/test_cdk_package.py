"""The distribution `cdk-rds-certificate-override`: its asset is the SAM build, and its wheel carries it.

Wheels are built here with hatchling from the dev environment (no build isolation, so no network), the
way `pip install ./cdk` and `make cdk-wheel` build them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cdk_support import ROOT, SAM_ARTIFACT
from rds_certificate_override import asset_directory

PACKAGE_ROOT = ROOT / "cdk"
ASSET_IN_WHEEL = "rds_certificate_override/function"


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def hatchling_build(project: Path, outdir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hatchling", "build", "-d", str(outdir)]
    for target in targets:
        command += ["-t", target]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


@pytest.fixture(scope="module")
def asset_files() -> dict[str, bytes]:
    return files_of(asset_directory())


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    built = hatchling_build(PACKAGE_ROOT, outdir, "wheel", "sdist")
    assert built.returncode == 0, built.stderr
    return outdir


def test_the_asset_is_the_sam_build_byte_for_byte(asset_files: dict[str, bytes]) -> None:
    assert SAM_ARTIFACT.is_dir(), "run the tests with `make test`: it builds the function"
    sam_files = files_of(SAM_ARTIFACT)
    assert sorted(asset_files) == sorted(sam_files), "stale asset: run `make cdk-asset`"
    assert asset_files == sam_files, "stale asset: run `make cdk-asset`"


def test_the_asset_holds_the_handler_its_dependencies_and_bytecode(asset_files: dict[str, bytes]) -> None:
    assert {"index.py", "override.py", "rds_certificates.py", "cfn_resource.py"} <= set(asset_files)
    assert any(name.startswith("crhelper/") for name in asset_files)
    assert any(name.startswith("aws_lambda_powertools/") for name in asset_files)
    assert not any(name.startswith(("boto3/", "botocore/")) for name in asset_files)
    if os.environ.get("RUNTIME_PYTHON"):  # the build compiles bytecode when the runtime's Python is there
        tag = "cpython-" + os.environ["RUNTIME_VERSION"].replace(".", "")
        assert f"__pycache__/index.{tag}.pyc" in asset_files


def test_the_wheel_carries_the_whole_asset_bytecode_included(
    dist: Path, asset_files: dict[str, bytes]
) -> None:
    [wheel] = dist.glob("cdk_rds_certificate_override-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        packaged = {
            name.removeprefix(ASSET_IN_WHEEL + "/"): archive.read(name)
            for name in names
            if name.startswith(ASSET_IN_WHEEL + "/")
        }
    assert packaged == asset_files
    assert len(names) == len(set(names)), "no file twice"
    modules = {
        name for name in names if name.startswith("rds_certificate_override/") and "/function/" not in name
    }
    assert {
        "rds_certificate_override/__init__.py",
        "rds_certificate_override/_construct.py",
        "rds_certificate_override/_provider.py",
        "rds_certificate_override/_asset.py",
        "rds_certificate_override/py.typed",
    } <= modules


def test_a_wheel_built_from_the_sdist_is_the_same(dist: Path, tmp_path: Path) -> None:
    [sdist] = dist.glob("cdk_rds_certificate_override-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    [project] = tmp_path.iterdir()
    built = hatchling_build(project, tmp_path / "out", "wheel")
    assert built.returncode == 0, built.stderr
    [rebuilt] = (tmp_path / "out").glob("*.whl")
    [original] = dist.glob("*.whl")
    with zipfile.ZipFile(rebuilt) as again, zipfile.ZipFile(original) as first:
        assert sorted(again.namelist()) == sorted(first.namelist())


def test_the_installed_wheel_synthesizes_with_its_own_asset(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # noqa: S202 - our own wheel; what pip does with a pure-Python one
    script = (
        "import aws_cdk as cdk, rds_certificate_override as m\n"
        f"app = cdk.App(outdir={str(tmp_path / 'cdk.out')!r})\n"
        "m.RdsCertificateOverride(cdk.Stack(app, 'S'), 'O', certificate_identifier='rds-ca-rsa4096-g1')\n"
        "app.synth()\n"
        "print(m.asset_directory())\n"
    )
    # PYTHONPATH comes before the dev environment's editable install of the same package.
    env = {**os.environ, "PYTHONPATH": str(site)}
    ran = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert Path(ran.stdout.strip()) == site / ASSET_IN_WHEEL
    staged = [p for p in (tmp_path / "cdk.out").iterdir() if p.name.startswith("asset.")]
    assert len(staged) == 1 and (staged[0] / "index.py").is_file()


def test_a_build_without_the_asset_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "cdk"
    shutil.copytree(
        PACKAGE_ROOT,
        project,
        ignore=shutil.ignore_patterns("function", "cdk.out", "__pycache__"),
    )
    built = hatchling_build(project, tmp_path / "out", "wheel")
    assert built.returncode != 0
    assert "Run `make cdk-asset`" in built.stderr + built.stdout
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.whl"))
