"""The CDK sample of cdk/README.md (the docs' CDK page) runs as printed, and passes `mypy --strict`; its
`cdk.json` sets the feature flags `cdk init` writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_support import ROOT, recommended_flags

READMES = [ROOT / "cdk" / "README.md"]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def complete_apps() -> list[tuple[str, str]]:
    """Every Python block of the READMEs that is a whole app (it ends with app.synth())."""
    return [
        (f"{readme.relative_to(ROOT)}#{number}", block)
        for readme in READMES
        for number, block in enumerate(PYTHON_BLOCK.findall(readme.read_text()))
        if "app.synth()" in block
    ]


SAMPLES = complete_apps()


def test_each_readme_has_a_complete_sample() -> None:
    assert {name.split("#")[0] for name, _ in SAMPLES} == {"cdk/README.md"}


@pytest.mark.parametrize(("name", "code"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_the_sample_synthesizes_as_printed(name: str, code: str, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(code)
    # As the READMEs print it: `CDK_OUTDIR=cdk.out python app.py`, in the app's directory.
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**os.environ, "CDK_OUTDIR": "cdk.out"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (template_path,) = (tmp_path / "cdk.out").glob("*.template.json")
    template = json.loads(template_path.read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert "Custom::RdsCertificateOverride" in types
    assert template["Outputs"]


@pytest.mark.parametrize("readme", READMES, ids=[str(readme.relative_to(ROOT)) for readme in READMES])
def test_the_readme_says_how_the_sample_writes_cdk_out(readme: Path) -> None:
    text = " ".join(readme.read_text().split())
    assert "`CDK_OUTDIR=cdk.out python app.py`" in text
    assert "a bare `python app.py`" in text
    assert "`python app.py` synthesizes it into `cdk.out/`" not in text


def test_the_samples_pass_mypy_strict(tmp_path: Path) -> None:
    # One mypy run for all: loading aws_cdk's types is most of its time.
    files = []
    for number, (_, code) in enumerate(SAMPLES):
        files.append(tmp_path / f"readme_sample_{number}.py")
        files[-1].write_text(code)
    result = subprocess.run(  # noqa: S603 - this interpreter's mypy
        [sys.executable, "-m", "mypy", "--strict", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_readme_s_cdk_json_sets_the_flags_cdk_init_writes() -> None:
    (block,) = JSON_BLOCK.findall((ROOT / "cdk" / "README.md").read_text())
    cdk_json = json.loads(block)
    assert cdk_json["app"] == "python app.py"
    assert cdk_json["context"] == recommended_flags()
