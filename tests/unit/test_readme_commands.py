"""The Organization page's shell commands: every CloudFormation one names the StackSet's region."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "docs" / "organization.md"
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shell_commands() -> list[str]:
    """Each command of the page's sh blocks, its continuation lines joined."""
    commands = []
    for block in SHELL_BLOCK.findall(README.read_text()):
        commands += [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return commands


def test_every_cloudformation_command_names_the_region() -> None:
    cloudformation = [command for command in shell_commands() if command.startswith("aws cloudformation ")]
    assert len(cloudformation) >= 8
    assert [command for command in cloudformation if '--region "$HOME_REGION"' not in command] == []
