"""`make release`: build dist/release/, the same bytes from the same commit on the same machine.

    python tools/release.py [--regions "R1 R2"] [--partition aws] [--extra FILE ...] [--out DIR]

What it writes, and from where:
- the function zip, built by lambda/Makefile (no SAM CLI) and zipped by tools/function_zip.py, named
  `rds-certificate-override-function-<version>-<digest>.zip` (the digest of its content: the CodeKey);
- template.yaml, its CodeUri that zip (and no build metadata), beside README.md, LICENSE and CHANGELOG.md,
  which its SAR metadata names; the documentation pages that README.md links, flat beside it
  (docs_site.release_pages: docs/design.md as DESIGN.md, the CDK package's README as README-cdk.md);
- stackset-template.json (rds_override_tools.stackset, for --regions/--partition), its CodeKey default the
  same zip's name;
- the CDK construct's wheel and sdist (`uv build` of a copy of cdk/ holding this build as its asset), and
  the operator command's wheel (`uv build --wheel` of the root project: `rds-certificate-override status`);
- every --extra file as it is (more templates to ship, such as a member account's role);
- SHA256SUMS of all of them.

Reproducible: every timestamp is SOURCE_DATE_EPOCH (the last commit's time unless set), zip and wheel
entries are sorted with fixed permissions, the bytecode is compiled with unchecked hashes and a fixed
source path (lambda/Makefile), and hatchling honours SOURCE_DATE_EPOCH. tests/release checks two builds.
The noisy steps' output goes to build/logs/release-*.log and is shown when one fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from docs_site import release_pages
from function_zip import source_date_epoch, write_zip

# The StackSet template's generator, with the SAM translator (the dev environment has the `stackset` extra).
from rds_override_tools import stackset
from rds_override_tools.regions import RegionListError, parse_regions

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = "RdsCertificateOverrideFunction"
ZIP_STEM = "rds-certificate-override-function"
CDK_FILES = ("pyproject.toml", "hatch_build.py", "README.md", "LICENSE")
CDK_PACKAGE = Path("src", "rds_certificate_override")
COPIED = ("LICENSE", "CHANGELOG.md")
LOGS = ROOT / "build" / "logs"

# template.yaml's lines that the release changes: CodeUri names the zip; the build settings go (only
# `sam build` reads them, and there is nothing left to build).
CODE_URI = re.compile(r"^(      CodeUri: )lambda/$", re.MULTILINE)
BUILD_LINES = re.compile(r"^      (# lambda/Makefile: no Docker.*|BuildMethod: makefile)\n", re.MULTILINE)


class ReleaseError(RuntimeError):
    """A step failed; the message says which and where its output is."""


def version() -> str:
    found = re.search(
        r'^__version__ = "([^"]+)"$', (ROOT / "lambda" / "version.py").read_text(), re.MULTILINE
    )
    if not found:
        raise ReleaseError('lambda/version.py does not set __version__ = "..."')
    return found[1]


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run_logged(name: str, argv: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> None:
    """Run `argv` with its output in build/logs/<name>.log, shown only if it fails."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    with log.open("w") as out:
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.stdout.write(log.read_text())
        raise ReleaseError(f"{name} failed: the output above is in {shown(log)}")


def runtime_python() -> dict[str, str]:
    """RUNTIME_VERSION and RUNTIME_PYTHON for lambda/Makefile, as the top Makefile exports them."""
    found = re.search(r"^ *Runtime: python(\S+)$", (ROOT / "template.yaml").read_text(), re.MULTILINE)
    if not found:
        raise ReleaseError("template.yaml has no `Runtime: python3.x`")
    runtime_version = os.environ.get("RUNTIME_VERSION") or found[1]
    python = os.environ.get("RUNTIME_PYTHON")
    if python is None:
        probe = subprocess.run(  # noqa: S603 - a fixed argv
            [str(ROOT / "tools" / "runtime-python"), runtime_version],
            capture_output=True,
            text=True,
            check=True,
        )
        python = probe.stdout.strip()
    if not python:
        print(
            f"note: no Python {runtime_version} found: the function ships without bytecode", file=sys.stderr
        )
    return {"RUNTIME_VERSION": runtime_version, "RUNTIME_PYTHON": python or f"python{runtime_version}"}


def sam_template(code_uri: str) -> str:
    text = (ROOT / "template.yaml").read_text()
    text, replaced = CODE_URI.subn(rf"\g<1>{code_uri}", text)
    text, removed = BUILD_LINES.subn("", text)
    if replaced != 1 or removed != 2:
        raise ReleaseError(
            "template.yaml no longer has one `CodeUri: lambda/` and the lambda/Makefile BuildMethod lines "
            "that tools/release.py rewrites: update CODE_URI and BUILD_LINES there"
        )
    return text


def check_input(regions: str, partition: str, extras: Sequence[Path]) -> tuple[str, ...]:
    """The StackSet template's regions; ReleaseError, before anything is built, for bad input."""
    missing = [extra for extra in extras if not extra.is_file()]
    if missing:
        raise ReleaseError(f"--extra {', '.join(map(str, missing))}: no such file")
    try:
        return stackset.choose_regions(parse_regions(regions), partition)
    except (RegionListError, stackset.StackSetError) as error:
        raise ReleaseError(f"--regions: {error}") from error


def build(out: Path, work: Path, regions: str, partition: str, extras: Sequence[Path]) -> list[Path]:
    """Everything into a fresh `out`, intermediate files into a fresh `work`; returns the files written."""
    release_version = version()
    epoch = source_date_epoch(ROOT)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), **runtime_python()}
    # Absolute: lambda/Makefile runs in lambda/ and falls back to pip when it cannot find uv.
    uv = os.environ.get("UV", str(ROOT / ".tools" / "bin" / "uv"))
    uv = str(Path(shutil.which(uv) or uv).resolve())
    chosen = check_input(regions, partition, extras)
    for path in (out, work):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    step(f"release {release_version} into {shown(out)}/ (SOURCE_DATE_EPOCH={epoch})")

    step("building the function (lambda/Makefile)")
    function = work / "function"
    run_logged(
        "release-function",
        [
            "make",
            "--no-print-directory",
            "-C",
            "lambda",
            f"build-{FUNCTION}",
            f"ARTIFACTS_DIR={function}",
            f"UV={uv}",
        ],
        env,
    )
    staged_zip = work / f"{ZIP_STEM}-{release_version}.zip"
    write_zip(function, staged_zip, epoch)
    zip_name = stackset.code_key_for(staged_zip)
    shutil.copyfile(staged_zip, out / zip_name)

    step(
        f"writing the SAM template (CodeUri: {zip_name}), README.md and the documentation pages, LICENSE, "
        "CHANGELOG.md"
    )
    (out / "template.yaml").write_text(sam_template(zip_name))
    for name, text in release_pages().items():
        (out / name).write_text(text)
    for name in COPIED:
        shutil.copyfile(ROOT / name, out / name)
    for extra in extras:
        shutil.copyfile(extra, out / extra.name)

    step(f"writing the StackSet template (CodeKey: {zip_name})")
    try:
        generated = stackset.generate(chosen, partition=partition, code_key=zip_name)
    except stackset.StackSetError as error:
        raise ReleaseError(f"stackset: {error}") from error
    (out / "stackset-template.json").write_text(generated.body())

    step("building the CDK package's wheel and sdist, and the operator command's wheel (uv build)")
    # Staged outside the checkout: hatchling would put the checkout's .gitignore into the sdist.
    cdk = Path(tempfile.mkdtemp(prefix="release-cdk-")) / "cdk"
    (cdk / "src").mkdir(parents=True)
    for name in CDK_FILES:
        shutil.copyfile(ROOT / "cdk" / name, cdk / name)
    shutil.copytree(
        ROOT / "cdk" / CDK_PACKAGE,
        cdk / CDK_PACKAGE,
        ignore=shutil.ignore_patterns("function", "__pycache__", "*.pyc"),
    )
    shutil.copytree(function, cdk / CDK_PACKAGE / "function")
    try:
        run_logged("release-cdk", [uv, "build", "--out-dir", str(out), str(cdk)], env)
    finally:
        shutil.rmtree(cdk.parent)
    run_logged("release-operator", [uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)], env)
    (out / ".gitignore").unlink(missing_ok=True)  # uv build's

    files = sorted(path for path in out.iterdir() if path.is_file())
    for path in files:
        path.chmod(0o644)
    lines = [f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n" for path in files]
    (out / "SHA256SUMS").write_text("".join(lines))
    (out / "SHA256SUMS").chmod(0o644)
    return [*files, out / "SHA256SUMS"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/release.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--regions", default="", help="the StackSet template's regions (make stackset's REGIONS)"
    )
    parser.add_argument("--partition", default="aws", help="the StackSet template's partition (default: aws)")
    parser.add_argument(
        "--extra", type=Path, action="append", default=[], help="another file to ship as it is (repeatable)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dist" / "release", help="replaced (default: %(default)s)"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "release", help="intermediate files")
    args = parser.parse_args(argv)
    try:
        files = build(args.out.resolve(), args.work.resolve(), args.regions, args.partition, args.extra)
    except ReleaseError as error:
        print(f"==> failed: {error}", file=sys.stderr)
        return 1
    step("done:")
    for path in files:
        print(f"    {path.name} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
