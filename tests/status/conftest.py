"""moto in-process with the RDS emulator for every status test (helpers: status_support.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws
from status_support import CALLER_ACCOUNT, Account

from rds_override_local import rds_emulator as emulator
from rds_override_local import settings


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may reach real AWS: the shell's AWS settings dropped, dummy credentials, the home region."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in settings.ISOLATED_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def aws(aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process with the emulator installed, the SDK's retry sleeps skipped."""
    emulator.install()
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0)
    with mock_aws():
        yield


@pytest.fixture
def caller() -> Account:
    """The account of the command's own credentials (moto's default account)."""
    return Account(CALLER_ACCOUNT, boto3.session.Session())
