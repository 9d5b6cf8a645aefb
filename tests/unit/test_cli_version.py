"""`rds-certificate-override --version`: the release's version (lambda/version.py sets it once)."""

from __future__ import annotations

import pytest

from rds_override_tools import cli
from version import __version__


def test_version_prints_the_release_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"rds-certificate-override {__version__}\n"
