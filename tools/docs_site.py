"""The documentation site's one rule beyond mkdocs: a page may be another file of the repository.

A line `--8<-- "PATH"` (pymdownx.snippets' syntax, readable as it is on GitHub) stands for the file PATH,
relative to the repository: docs/index.md is README.md, docs/cdk.md holds cdk/README.md. Their links
are written for where they live (`docs/sam.md`, `cdk/README.md`) and are rewritten for the site. mkdocs
loads this file as a hook (mkdocs.yml); tools/release.py ships the pages as `release_pages` gives them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)
# README.md's links to the pages and to the CDK README, as they read from docs/.
SITE_LINKS = {"](docs/": "](", "](cdk/README.md": "](cdk.md"}
# The release ships the pages flat beside README.md: docs/<page>.md as <PAGE>.md (docs/design.md as
# DESIGN.md), the CDK page as what it includes, the CDK package's README, named README-cdk.md.
RELEASE_CDK_README = "README-cdk.md"
RELEASE_NAMES = {"index": "README.md", "cdk": RELEASE_CDK_README}
PAGE_LINK = re.compile(r"\]\((?:docs/)?([a-z0-9-]+)\.md")


class IncludeError(ValueError):
    """An include names a file that is not there."""


def expand(markdown: str, links: dict[str, str]) -> str:
    """`markdown` with each include replaced by the file, its links rewritten by `links`."""

    def included(match: re.Match[str]) -> str:
        path = ROOT / match[1]
        if not path.is_file():
            raise IncludeError(f'--8<-- "{match[1]}": no such file in the repository')
        text = path.read_text()
        for old, new in links.items():
            text = text.replace(old, new)
        return text.rstrip("\n")

    return INCLUDE.sub(included, markdown)


def release_name(stem: str) -> str:
    """The file name under which the release ships docs/<stem>.md."""
    return RELEASE_NAMES.get(stem, f"{stem.upper()}.md")


def release_markdown(text: str) -> str:
    """`text` (README.md, cdk/README.md or a page), its links to the pages pointing at the shipped copies."""
    text = text.replace("](cdk/README.md", f"]({RELEASE_CDK_README}")
    return PAGE_LINK.sub(lambda link: f"]({release_name(link[1])}", text)


def release_pages() -> dict[str, str]:
    """What the release ships of the documentation, by file name: README.md, README-cdk.md and each page."""
    pages = {
        "README.md": release_markdown((ROOT / "README.md").read_text()),
        RELEASE_CDK_README: release_markdown((ROOT / "cdk" / "README.md").read_text()),
    }
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.stem not in RELEASE_NAMES:
            pages[release_name(page.stem)] = release_markdown(expand(page.read_text(), SITE_LINKS))
    return pages


def on_page_markdown(markdown: str, **_: Any) -> str:
    return expand(markdown, SITE_LINKS)
