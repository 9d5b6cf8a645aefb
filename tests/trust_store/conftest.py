"""moto in-process with the RDS emulator for the trust-store tests; nothing reaches AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from rds_override_local import rds_emulator as emulator
from rds_override_local import settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shell's AWS settings dropped, dummy credentials, moto with the emulator installed."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in settings.ISOLATED_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    emulator.install()
    with mock_aws():
        yield
