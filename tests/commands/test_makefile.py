"""The Makefile's shape: one `.PHONY`, listing every target the help shows and naming no file target."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def test_one_phony_lists_every_documented_target() -> None:
    phonies = re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)
    assert len(phonies) == 1, "one .PHONY line"
    phony = set(phonies[0].replace("\\\n", " ").split())
    documented = set(re.findall(r"^([a-z-]+):.*## ", MAKEFILE, re.MULTILINE))
    assert documented, "the help lists targets with `## text`"
    assert documented <= phony, f"documented targets missing from .PHONY: {sorted(documented - phony)}"
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE))
    assert phony <= targets, f".PHONY names no such target: {sorted(phony - targets)}"


def test_make_help_starts_every_description_in_one_column_after_the_longest_name() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    result = subprocess.run(
        ["make", "--no-print-directory", "help"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    documented = re.findall(r"^([a-z-]+):.*## (.*)$", MAKEFILE, re.MULTILINE)
    assert len(lines) == len(documented)
    column = 2 + max(len(name) for name, _ in documented) + 2
    for line, (name, text) in zip(lines, documented, strict=True):
        assert line == f"  {name}".ljust(column) + text
