"""The only module that calls RDS: DescribeCertificates and ModifyCertificates, one client per region."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from override import Certificate

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

# Standard retry mode retries throttling and 5xx with backoff; the timeouts keep a hung connection from
# eating the function's whole time budget, so that a FAILED answer still goes out before the deadline.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=5,
    read_timeout=10,
)


@functools.cache
def _session() -> boto3.session.Session:
    # One session for the clients and the region list: it loads the SDK's endpoint data once.
    return boto3.session.Session()


@functools.cache
def _client(region: str) -> RDSClient:
    return _session().client("rds", region_name=region, config=_CLIENT_CONFIG)


@functools.cache
def known_regions(partition_region: str) -> tuple[str, ...]:
    """RDS regions the SDK knows in the partition of `partition_region` (opt-in regions included)."""
    session = _session()
    partition = session.get_partition_for_region(partition_region)
    return tuple(session.get_available_regions("rds", partition_name=partition, allow_non_regional=False))


def describe_certificates(region: str) -> list[Certificate]:
    """All CA certificates of the region, with the customer override flags. One call per page of 100."""
    pages = _client(region).get_paginator("describe_certificates").paginate()
    return [Certificate.from_api(raw) for page in pages for raw in page.get("Certificates", [])]


def set_override(region: str, certificate_identifier: str) -> Certificate:
    response = _client(region).modify_certificates(CertificateIdentifier=certificate_identifier)
    return Certificate.from_api(response["Certificate"])


def remove_override(region: str) -> None:
    _client(region).modify_certificates(RemoveCustomerOverride=True)
