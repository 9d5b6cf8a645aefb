"""moto in-process for every status test (helpers: status_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws
from moto.rds.responses import RDSResponse
from status_support import CALLER_ACCOUNT, Account, describe_db_engine_versions


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, DescribeDBEngineVersions served, the SDK's retry sleeps skipped."""
    monkeypatch.setattr(
        RDSResponse, "describe_db_engine_versions", describe_db_engine_versions, raising=False
    )
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0)
    with mock_aws():
        yield


@pytest.fixture
def caller() -> Account:
    """The account of the command's own credentials (moto's default account)."""
    return Account(CALLER_ACCOUNT, boto3.session.Session())
