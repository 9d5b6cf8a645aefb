"""A plain `sam build` on a machine with python3, pip and make but no uv (lambda/Makefile falls back to pip).

SAM users type `sam build`, not `make build`. Here it runs with a PATH that holds only make, python3 (one
that has pip), cp, find, rm and sed, and must build an artifact with the same modules as the uv build that
`make build` made, one whose handler imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rds_override_local import settings

ROOT = settings.REPOSITORY
UV_ARTIFACT = settings.ARTIFACT
RUNTIME_SDK = settings.RUNTIME_SDK
TOOLS = ("make", "cp", "find", "rm", "sed")
# What differs between installers, not what the function runs: pip's and uv's dist-info bookkeeping, and
# the bytecode that only a machine with the runtime's Python compiles.
BOOKKEEPING = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}


def _python_with_pip() -> str:
    """A python3 from PATH, outside this virtual environment (which has no pip), that runs pip."""
    for directory in os.environ["PATH"].split(os.pathsep):
        candidate = Path(directory, "python3")
        if not candidate.is_file() or Path(directory).resolve() == Path(sys.prefix, "bin").resolve():
            continue
        probe = subprocess.run(  # noqa: S603 - a fixed argv
            [str(candidate), "-c", "import sys, pip; print(sys.executable)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return probe.stdout.strip()
    pytest.fail("no python3 with pip on PATH: the build without uv needs one, as a SAM user's machine has")


def _module_files(artifact: Path) -> set[str]:
    return {
        path.relative_to(artifact).as_posix()
        for path in artifact.rglob("*")
        if path.is_file() and path.suffix != ".pyc" and path.name not in BOOKKEEPING
    }


@pytest.fixture(scope="module")
def pip_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("no-uv")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH"
        (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(_python_with_pip())
    env = {
        "PATH": str(bin_dir),
        "HOME": os.environ["HOME"],
        "SAM_CLI_TELEMETRY": "0",
        # The machine's own way to reach the package index (pip configuration, proxies), nothing else.
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.lower().endswith("_proxy")},
    }
    build_dir = work / "build"
    result = subprocess.run(  # noqa: S603 - a fixed argv
        [
            str(Path(sys.executable).with_name("sam")),
            "build",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uv is not on PATH: installing with python3 -m pip" in result.stdout + result.stderr
    return build_dir / "RdsCertificateOverrideFunction"


def test_sam_build_without_uv_installs_the_same_modules_as_the_uv_build(pip_artifact: Path) -> None:
    assert UV_ARTIFACT.is_dir(), f"{UV_ARTIFACT} is missing: run the tests with `make test`, which builds it"
    assert _module_files(pip_artifact) == _module_files(UV_ARTIFACT)


def test_the_handler_of_the_pip_build_imports(pip_artifact: Path) -> None:
    assert RUNTIME_SDK.is_dir(), f"{RUNTIME_SDK} is missing: run the tests with `make test`, which builds it"
    # -S: only the artifact and the runtime's boto3 on the path, as in Lambda.
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import index, version; print(version.__version__)"],
        env={
            "PYTHONPATH": os.pathsep.join([str(pip_artifact), str(RUNTIME_SDK)]),
            "AWS_REGION": settings.REGION,
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
