"""What the docs name exists: the files and folders, the modules, the make targets and the command's options.

Read from README.md, cdk/README.md and every page of docs/: a path in backticks, a `make TARGET`, a
module of the project's packages, an `--option` of `rds-certificate-override status|rotate` (in a command
line or in the option table of its page). A rename in the code that the docs miss fails here.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest

from rds_override_tools import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "cdk" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```\w*\n(.*?)^```", re.MULTILINE | re.DOTALL)

# Where a path the docs give short is found: a module beside the one the sentence names.
SEARCHED = [
    "",
    "lambda",
    "src",
    "src/rds_override_tools",
    "local/src/rds_override_local",
    "tools",
    "tests",
    "tests/handler",
    "cdk",
    "cdk/src",
]
# Written by a build, a command or the tools: not in a clone.
GENERATED = (".aws-sam", ".tools/", ".venv/", "build/", "dist/", "cdk.out", "cdk/cdk.out")
# Named by the docs, not of this repository: another project's file, or a KMS alias.
ELSEWHERE = {
    "awscli/examples/rds/describe-certificates.rst",  # aws-cli's, where the emulator's values come from
    "recommended-feature-flags.json",  # aws-cdk-lib's
    "aws/s3",  # the AWS managed KMS key of S3
}
# A file of a release (dist/release/), as tools/release.py names it.
RELEASED = re.compile(r"[A-Z][A-Z-]*\.md|README-cdk\.md|stackset-template\.json")
PATH_LIKE = re.compile(r"[\w.-]+(/[\w.-]*)+|[\w-]+\.(py|ya?ml|toml|json|md|txt)")
PACKAGES = ("rds_override_tools", "rds_override_local", "rds_override_ledger", "rds_certificate_override")


def code_spans() -> list[tuple[str, str]]:
    """(page, text) of every backticked span and every line of a fenced block."""
    spans = []
    for page in DOCS:
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        spans += [(name, span) for span in CODE.findall(FENCE.sub("", text))]
        blocks = FENCE.findall(text)
        spans += [(name, line) for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return spans


SPANS = code_spans()


def test_every_path_the_docs_name_exists() -> None:
    paths = {
        (page, span)
        for page, span in SPANS
        if PATH_LIKE.fullmatch(span) and not span.startswith(GENERATED) and span not in ELSEWHERE
    }
    assert len(paths) > 80
    missing = [
        f"{page}: `{span}`"
        for page, span in sorted(paths)
        if not RELEASED.fullmatch(span) and not any((ROOT / base / span).exists() for base in SEARCHED)
    ]
    assert missing == []


def test_every_module_the_docs_name_imports() -> None:
    names = {
        (page, name)
        for page, span in SPANS
        for name in re.findall(rf"\b(?:{'|'.join(PACKAGES)})(?:\.\w+)*", span)
    }
    assert len(names) > 3
    missing = [f"{page}: {name}" for page, name in sorted(names) if not _resolves(name)]
    assert missing == []


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of the longest module prefix that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_make_target_the_docs_name_is_in_the_makefile() -> None:
    named = {(page, found[1]) for page, span in SPANS if (found := re.match(r"\s*make ([a-z][a-z-]*)", span))}
    assert len(named) > 20
    targets = make_targets()
    assert [f"{page}: make {target}" for page, target in sorted(named) if target not in targets] == []


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", ["status", "rotate"])
def test_every_option_the_docs_give_a_command_is_its_own(command: str) -> None:
    parser = subcommands()[command]
    known = set(parser._option_string_actions)
    given: set[tuple[str, str]] = set()
    for page, span in SPANS:
        # A command line: `rds-certificate-override status ...` or `make status ARGS="..."`.
        line = re.search(rf"(?:rds-certificate-override|make) {command}\b(.*)", span)
        if line:
            given |= {(page, option) for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line[1])}
    # The option table of the command's page: its first column.
    page = {"status": "docs/status.md", "rotate": "docs/rotation.md"}[command]
    table = re.findall(r"^\| `(--[a-z][a-z-]*)", (ROOT / page).read_text(), re.MULTILINE)
    given |= {(page, option) for option in table}
    assert len(table) >= 8
    assert [f"{page}: {command} {option}" for page, option in sorted(given) if option not in known] == []
