"""AWS CDK construct for the account-wide, per-region RDS default CA certificate override.

``RdsCertificateOverride`` declares a ``Custom::RdsCertificateOverride`` resource whose provider is the
function of this repository's SAM template, shipped prebuilt in the package (no Docker at synth time).
"""

from ._asset import AssetMissingError, asset_directory
from ._construct import (
    CERTIFICATE_IDENTIFIER_PATTERN,
    PUBLISHED_CERTIFICATE_AUTHORITIES,
    RESOURCE_TYPE,
    UNPUBLISHED_CERTIFICATE_WARNING,
    RdsCertificateOverride,
)

__all__ = [
    "CERTIFICATE_IDENTIFIER_PATTERN",
    "PUBLISHED_CERTIFICATE_AUTHORITIES",
    "RESOURCE_TYPE",
    "UNPUBLISHED_CERTIFICATE_WARNING",
    "AssetMissingError",
    "RdsCertificateOverride",
    "asset_directory",
]
