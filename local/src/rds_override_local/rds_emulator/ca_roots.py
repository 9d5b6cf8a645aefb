"""Real root certificates for the emulator's CAs: one per (region, CA identifier), named as RDS publishes
them (subject `C=US, O=Amazon Web Services, Inc., OU=Amazon RDS, ST=WA, CN=Amazon RDS <region> Root CA
<RSA2048|RSA4096|ECC384> G1, L=Seattle`; rds-ca-2019: the one global `Amazon RDS Root 2019 CA`),
self-signed, valid over the catalog's ValidFrom..ValidTill. DescribeCertificates' Thumbprint is computed
from them (SHA-1 of the DER, as RDS's is).

Made once per process and cached: one key per key type (an RSA 4096 key takes a second or more to make), and
each region's certificate signed with it (milliseconds). Real regional roots each have a key of their own;
sharing one here keeps every thumbprint distinct (subject and serial differ) at a fraction of the cost.

Bundles as application teams have them: `bundle(regions, "whole")` (every CA of every region, as
global-bundle.pem), `"trimmed"` (only rds-ca-rsa2048-g1: what a team that copied one CA keeps), `"stale"`
(only the rds-ca-2019 root: a bundle from before the G1 CAs).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from rds_override_tools.published_roots import published_root

_lock = threading.Lock()
BundleKind = Literal["whole", "trimmed", "stale"]
TRIMMED_TO = "rds-ca-rsa2048-g1"


@functools.cache
def _key(key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if key_type == "ecc384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=4096 if key_type == "rsa4096" else 2048)


def _key_type(certificate_identifier: str) -> str:
    for key_type in ("ecc384", "rsa4096"):
        if key_type in certificate_identifier:
            return key_type
    return "rsa2048"


def _subject(region: str, certificate_identifier: str) -> tuple[x509.Name, str]:
    published = published_root(region, certificate_identifier)
    if published is None:  # an id RDS has not published a naming for: named after itself
        common_name, key_type = (
            f"Amazon RDS {region} Root CA {certificate_identifier}",
            _key_type(certificate_identifier),
        )
    else:
        common_name, key_type = published.common_name, published.key_type
    if certificate_identifier == "rds-ca-2019":
        attributes = [
            (NameOID.COUNTRY_NAME, "US"),
            (NameOID.LOCALITY_NAME, "Seattle"),
            (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
            (NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
            (NameOID.COMMON_NAME, common_name),
        ]
    else:
        attributes = [
            (NameOID.COUNTRY_NAME, "US"),
            (NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
            (NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            (NameOID.COMMON_NAME, common_name),
            (NameOID.LOCALITY_NAME, "Seattle"),
        ]
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes]), key_type


def make_root(
    subject: x509.Name,
    key_type: str,
    valid_from: datetime,
    valid_till: datetime,
    *,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    """A self-signed CA certificate (also what tests use to make impostors, with another `key`)."""
    signer = key or _key(key_type)
    serial = int.from_bytes(
        hashlib.sha256(subject.public_bytes() + valid_from.isoformat().encode()).digest()[:15]
    )
    digest = hashes.SHA256() if key_type == "rsa2048" else hashes.SHA384()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(signer.public_key())
        .serial_number(serial)
        .not_valid_before(valid_from)
        .not_valid_after(valid_till)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer.public_key()), critical=False)
        .sign(signer, digest)
    )


@functools.cache
def _root(
    region: str, certificate_identifier: str, valid_from: datetime, valid_till: datetime
) -> x509.Certificate:
    if certificate_identifier == "rds-ca-2019":
        region = "global"  # one root for every region, as published
    subject, key_type = _subject(region, certificate_identifier)
    return make_root(subject, key_type, valid_from, valid_till)


def root_certificate(
    region: str, certificate_identifier: str, valid_from: datetime, valid_till: datetime
) -> x509.Certificate:
    """This region's root of the CA (made on first use, then the same object)."""
    with _lock:  # functools.cache does not stop two threads from making the same key at once
        return _root(region, certificate_identifier, valid_from, valid_till)


def catalog_root(region: str, certificate_identifier: str) -> x509.Certificate:
    """The root of a CA of the default catalog in `region`."""
    from .models import DEFAULT_CATALOG  # noqa: PLC0415 - models computes thumbprints from this module

    entry = next(e for e in DEFAULT_CATALOG if e.certificate_identifier == certificate_identifier)
    return root_certificate(region, certificate_identifier, entry.valid_from, entry.valid_till)


def bundle(regions: Sequence[str], kind: BundleKind = "whole") -> bytes:
    """A PEM bundle of the catalog's roots for `regions`: whole, trimmed or stale (module docstring)."""
    from .models import DEFAULT_CATALOG  # noqa: PLC0415 - models computes thumbprints from this module

    wanted = {
        "whole": [entry.certificate_identifier for entry in DEFAULT_CATALOG],
        "trimmed": [TRIMMED_TO],
        "stale": ["rds-ca-2019"],
    }[kind]
    seen: set[bytes] = set()
    chunks: list[bytes] = []
    for region in regions:
        for certificate_identifier in wanted:
            pem = catalog_root(region, certificate_identifier).public_bytes(serialization.Encoding.PEM)
            if pem not in seen:  # rds-ca-2019's root is the same in every region
                seen.add(pem)
                chunks.append(pem)
    return b"".join(chunks)
