"""`make docs`: the site builds in strict mode, and strict mode does fail on a broken link or a page left
out of the nav (mkdocs.yml's `validation`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter's mkdocs
        [*MKDOCS, "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_site_builds_in_strict_mode_with_no_warning(tmp_path: Path) -> None:
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    home = (tmp_path / "site" / "index.html").read_text()
    # README.md is the home page, its diagram a Mermaid block that the theme renders.
    assert '<pre class="mermaid">' in home
    assert 'href="sam/"' in home
    # cdk/README.md is the CDK page.
    assert "recommended-feature-flags.json" in (tmp_path / "site" / "cdk" / "index.html").read_text()


def site_copy(tmp_path: Path) -> Path:
    """mkdocs.yml and docs/ copied to tmp_path, to break on purpose."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    config = (ROOT / "mkdocs.yml").read_text().replace("tools/docs_site.py", str(ROOT / "tools/docs_site.py"))
    (tmp_path / "mkdocs.yml").write_text(config)
    return tmp_path / "mkdocs.yml"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    config = site_copy(tmp_path)
    with (tmp_path / "docs" / "sam.md").open("a") as page:
        page.write("\n[gone](no-such-page.md) and [nowhere](status.md#no-such-heading)\n")
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "'no-such-page.md', but the target is not found" in result.stderr
    assert "does not contain an anchor '#no-such-heading'" in result.stderr


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    config = site_copy(tmp_path)
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "orphan.md" in result.stderr
