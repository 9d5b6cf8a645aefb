"""Client stores written the way their tools write them, for the tests and the demos: PEM and DER by
`cryptography`, PKCS#12 by `cryptography` (a Java truststore, as `keytool` makes a modern cacerts), JKS in the
JDK's layout (what `keytool -importcert` writes; the JDK's keytool need not be installed).

The JKS writer is checked byte for byte against files pyjks 20.0.0 wrote (tests/trust_store/data/*.jks,
made by tools/make_keystore_fixtures.py): an independent writer, not the product's reader run backwards.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12


def pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _utf(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def jks(certificates: Sequence[x509.Certificate], password: str, *, timestamp_ms: int = 0) -> bytes:
    """A JKS keystore of trusted-certificate entries (aliases rds-root-0, rds-root-1...)."""
    body = struct.pack(">III", 0xFEEDFEED, 2, len(certificates))
    for index, certificate in enumerate(certificates):
        der = certificate.public_bytes(serialization.Encoding.DER)
        body += struct.pack(">I", 2) + _utf(f"rds-root-{index}") + struct.pack(">Q", timestamp_ms)
        body += _utf("X.509") + struct.pack(">I", len(der)) + der
    keyed = password.encode("utf-16-be") + b"Mighty Aphrodite" + body
    return body + hashlib.sha1(keyed, usedforsecurity=False).digest()  # the format's integrity check


def java_truststore(certificates: Sequence[x509.Certificate], password: str) -> bytes:
    """A PKCS#12 truststore as Java reads it (trusted-certificate entries, like a JDK 9+ cacerts)."""
    return pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(c, f"rds-root-{i}".encode()) for i, c in enumerate(certificates)],
        serialization.BestAvailableEncryption(password.encode()),
    )
