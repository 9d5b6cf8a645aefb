"""The SDK set-up every call of the function shares: one session, one client per service and region.

Standard retry mode retries throttling and 5xx with backoff. The short timeouts bound how long one call can
take, retries included (`WORST_CASE_CALL_SECONDS`), so the function can tell before it starts a write
whether the write can finish before the timer answers CloudFormation.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

_ATTEMPTS = 5
_CONNECT_TIMEOUT = 3
_READ_TIMEOUT = 5
# Standard mode sleeps at most 1, 2, 4 then 8 s between attempts (jittered exponential backoff, base 2).
_BACKOFF_SECONDS = 1 + 2 + 4 + 8
WORST_CASE_CALL_SECONDS = _ATTEMPTS * (_CONNECT_TIMEOUT + _READ_TIMEOUT) + _BACKOFF_SECONDS

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
    connect_timeout=_CONNECT_TIMEOUT,
    read_timeout=_READ_TIMEOUT,
)


@functools.cache
def session() -> boto3.session.Session:
    # One session for every client and the region list: it loads the SDK's endpoint data once.
    return boto3.session.Session()


@functools.cache
def client(service: str, region: str) -> Any:
    return session().client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]


@functools.cache
def known_regions(partition_region: str) -> tuple[str, ...]:
    """RDS regions the SDK knows in the partition of `partition_region` (opt-in regions included)."""
    partition = session().get_partition_for_region(partition_region)
    return tuple(session().get_available_regions("rds", partition_name=partition, allow_non_regional=False))
