"""The Makefile's shape: one `.PHONY`, listing every target the help shows and naming no file target."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = (Path(__file__).resolve().parents[2] / "Makefile").read_text()


def test_one_phony_lists_every_documented_target() -> None:
    phonies = re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)
    assert len(phonies) == 1, "one .PHONY line"
    phony = set(phonies[0].replace("\\\n", " ").split())
    documented = set(re.findall(r"^([a-z-]+):.*## ", MAKEFILE, re.MULTILINE))
    assert documented, "the help lists targets with `## text`"
    assert documented <= phony, f"documented targets missing from .PHONY: {sorted(documented - phony)}"
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.MULTILINE))
    assert phony <= targets, f".PHONY names no such target: {sorted(phony - targets)}"
