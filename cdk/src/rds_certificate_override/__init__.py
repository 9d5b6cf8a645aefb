"""AWS CDK construct for the account-wide, per-region RDS default CA certificate override.

``RdsCertificateOverride`` declares a ``Custom::RdsCertificateOverride`` resource whose provider is the
function of this repository's SAM template, shipped prebuilt in the package (no Docker at synth time).
"""

from ._asset import AssetMissingError, asset_directory
from ._construct import CERTIFICATE_IDENTIFIER_PATTERN, RESOURCE_TYPE, RdsCertificateOverride

__all__ = [
    "CERTIFICATE_IDENTIFIER_PATTERN",
    "RESOURCE_TYPE",
    "AssetMissingError",
    "RdsCertificateOverride",
    "asset_directory",
]
