"""The errors the emulator answers with, as moto's RDS errors (``RDSClientError``).

An error class's ``code`` must be the botocore shape *name* (``CertificateNotFoundFault``): moto then sends
the shape's wire code (``CertificateNotFound``) and HTTP status (404). A code missing from the RDS model
(``Throttling``) is sent as is, always with HTTP 400 and ``<Type>Sender</Type>``, and with a
``UserWarning``; injected faults override the status (``hooks``) and silence that warning.
"""

from __future__ import annotations

from moto.rds.exceptions import RDSClientError


class CertificateNotFoundFault(RDSClientError):
    """``CertificateIdentifier`` doesn't refer to an existing certificate (wire code
    ``CertificateNotFound``, HTTP 404, from the botocore shape ``CertificateNotFoundFault``)."""

    code = "CertificateNotFoundFault"

    def __init__(self, certificate_identifier: str) -> None:
        super().__init__(f"Certificate {certificate_identifier} not found.")


class InjectedFault(RDSClientError):
    """An error a test asked for with ``inject_fault``; answered with ``status``."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.status = status
