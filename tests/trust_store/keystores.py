"""Stores written the way their tools write them, for the tests: PEM and DER by `cryptography`, PKCS#12 by
`cryptography` (a Java truststore, as `keytool` makes a modern cacerts), JKS by the JDK's layout.

The JKS writer is checked byte for byte against the files pyjks 20.0.0 wrote (data/*.jks, made by
tools/make_keystore_fixtures.py): it is an independent writer, not the reader run backwards.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

DATA = Path(__file__).parent / "data"
# us-west-2's published roots (RSA2048 G1, RSA4096 G1, ECC384 G1, Root 2019), from
# https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
PUBLISHED_US_WEST_2 = DATA / "us-west-2-roots.pem"
FIXTURE_TIMESTAMP_MS = 1764633600000  # the creation time the fixtures were written with


def pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _utf(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def jks(
    certificates: Sequence[x509.Certificate], password: str, *, timestamp_ms: int = FIXTURE_TIMESTAMP_MS
) -> bytes:
    """A JKS keystore of trusted-certificate entries (aliases rds-root-0, rds-root-1...)."""
    body = struct.pack(">III", 0xFEEDFEED, 2, len(certificates))
    for index, certificate in enumerate(certificates):
        der = certificate.public_bytes(serialization.Encoding.DER)
        body += struct.pack(">I", 2) + _utf(f"rds-root-{index}") + struct.pack(">Q", timestamp_ms)
        body += _utf("X.509") + struct.pack(">I", len(der)) + der
    keyed = password.encode("utf-16-be") + b"Mighty Aphrodite" + body
    digest = hashlib.sha1(keyed, usedforsecurity=False).digest()  # the format's integrity check
    return body + digest


def java_truststore(certificates: Sequence[x509.Certificate], password: str) -> bytes:
    """A PKCS#12 truststore as Java reads it (trusted-certificate entries, like a JDK 9+ cacerts)."""
    return pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(c, f"rds-root-{i}".encode()) for i, c in enumerate(certificates)],
        serialization.BestAvailableEncryption(password.encode()),
    )


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
