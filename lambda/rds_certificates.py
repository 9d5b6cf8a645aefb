"""The only module that calls RDS: DescribeCertificates and ModifyCertificates."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import aws_sdk
from override import Certificate

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient


def _rds(region: str, attempts: int = aws_sdk.ATTEMPTS) -> RDSClient:
    return cast("RDSClient", aws_sdk.client("rds", region, attempts))


def describe_certificates(region: str) -> list[Certificate]:
    """All CA certificates of the region, with the customer override flags. One call per page of 100."""
    pages = _rds(region).get_paginator("describe_certificates").paginate()
    return [Certificate.from_api(raw) for page in pages for raw in page.get("Certificates", [])]


def set_override(
    region: str, certificate_identifier: str, *, attempts: int = aws_sdk.ATTEMPTS
) -> Certificate:
    response = _rds(region, attempts).modify_certificates(CertificateIdentifier=certificate_identifier)
    return Certificate.from_api(response["Certificate"])


def remove_override(region: str, *, attempts: int = aws_sdk.ATTEMPTS) -> None:
    _rds(region, attempts).modify_certificates(RemoveCustomerOverride=True)
