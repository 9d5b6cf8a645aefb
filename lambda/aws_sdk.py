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

ATTEMPTS = 5
_CONNECT_TIMEOUT = 3
_READ_TIMEOUT = 5
# Standard mode sleeps at most 1, 2, 4 then 8 s between attempts (jittered exponential backoff, base 2).
_LONGEST_BACKOFF_SECONDS = 20


def worst_case_seconds(attempts: int) -> float:
    """How long one call of `attempts` attempts can take: each attempt's timeouts, and the backoff between."""
    backoff: int = sum(min(2**retry, _LONGEST_BACKOFF_SECONDS) for retry in range(attempts - 1))
    return attempts * (_CONNECT_TIMEOUT + _READ_TIMEOUT) + backoff


WORST_CASE_CALL_SECONDS = worst_case_seconds(ATTEMPTS)


def attempts_within(seconds: float) -> int:
    """The most attempts (up to the configured 5) of one call that surely end within `seconds`: a write
    near its deadline is still made, with fewer retries, rather than not at all or too late. 0: none."""
    return max((n for n in range(ATTEMPTS + 1) if worst_case_seconds(n) <= seconds), default=0)


def _config(attempts: int) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
    )


CLIENT_CONFIG = _config(ATTEMPTS)


@functools.cache
def session() -> boto3.session.Session:
    # One session for every client and the region list: it loads the SDK's endpoint data once.
    return boto3.session.Session()


def client(service: str, region: str, attempts: int = ATTEMPTS) -> Any:
    """The client of a service in a region; `attempts` fewer than 5 for a write the deadline bounds."""
    return _client(service, region, attempts)


@functools.cache
def _client(service: str, region: str, attempts: int) -> Any:
    config = CLIENT_CONFIG if attempts == ATTEMPTS else _config(attempts)
    return session().client(service, region_name=region, config=config)  # type: ignore[call-overload]


@functools.cache
def known_regions(partition_region: str) -> tuple[str, ...]:
    """RDS regions the SDK knows in the partition of `partition_region` (opt-in regions included)."""
    partition = session().get_partition_for_region(partition_region)
    return tuple(session().get_available_regions("rds", partition_name=partition, allow_non_regional=False))
