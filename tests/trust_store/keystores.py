"""The stores the tests write (rds_override_local.keystores) and the published roots they start from."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from rds_override_local import keystores

DATA = Path(__file__).parent / "data"
# us-west-2's published roots (RSA2048 G1, RSA4096 G1, ECC384 G1, Root 2019), from
# https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
PUBLISHED_US_WEST_2 = DATA / "us-west-2-roots.pem"
FIXTURE_TIMESTAMP_MS = 1764633600000  # the creation time tools/make_keystore_fixtures.py wrote them with

pem = keystores.pem
java_truststore = keystores.java_truststore


def jks(certificates: Sequence[x509.Certificate], password: str) -> bytes:
    return keystores.jks(certificates, password, timestamp_ms=FIXTURE_TIMESTAMP_MS)


@functools.cache
def published() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(PUBLISHED_US_WEST_2.read_bytes())


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
