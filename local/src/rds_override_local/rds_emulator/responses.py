"""DescribeCertificates and ModifyCertificates as ``moto.rds.responses.RDSResponse`` methods.

``install()`` binds them to ``RDSResponse``. They return ``ActionResult``, which moto serializes from the
botocore model, under ``mock_aws()`` and over ``ThreadedMotoServer`` alike. ``BaseResponse.call_action``
finds actions with ``inspect.isfunction``: they must stay plain functions.
"""

from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse
from moto.rds.responses import RDSResponse

from .models import RDSCertificatesBackend, rds_certificates_backends


def _certificates_backend(response: BaseResponse) -> RDSCertificatesBackend:
    return rds_certificates_backends[response.current_account][response.region]


def describe_certificates(self: RDSResponse) -> ActionResult:
    """``RDSResponse.describe_certificates``."""
    certificates, marker, default = _certificates_backend(self).describe_certificates(
        certificate_identifier=self.params.get("CertificateIdentifier"),
        max_records=self.params.get("MaxRecords"),
        marker=self.params.get("Marker"),
    )
    return ActionResult(
        {
            "DefaultCertificateForNewLaunches": default,
            "Certificates": certificates,
            "Marker": marker,
        }
    )


def modify_certificates(self: RDSResponse) -> ActionResult:
    """``RDSResponse.modify_certificates``."""
    certificate = _certificates_backend(self).modify_certificates(
        certificate_identifier=self.params.get("CertificateIdentifier"),
        remove_customer_override=self.params.get("RemoveCustomerOverride"),
    )
    return ActionResult({"Certificate": certificate})
