"""The Lambda runtime's Python version is template.yaml's; the build's default must follow it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_builds_default_runtime_version_is_the_templates() -> None:
    (runtime,) = re.findall(r"^\s*Runtime: python(\d+\.\d+)$", (ROOT / "template.yaml").read_text(), re.M)
    (default,) = re.findall(r"^RUNTIME_VERSION \?= (\S+)$", (ROOT / "lambda/Makefile").read_text(), re.M)
    assert default == runtime
