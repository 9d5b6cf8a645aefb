"""Write tests/trust_store/data/*.jks with pyjks (an independent JKS writer), from us-west-2-roots.pem.

Not part of `make`: pyjks (last released 2020) needs a C compiler for its twofish dependency. Run it in a
throwaway venv: `uv venv /tmp/jks && uv pip install -p /tmp/jks pyjks cryptography &&
/tmp/jks/bin/python tools/make_keystore_fixtures.py`. The entries' timestamps are fixed: same input, same
bytes.
"""

from __future__ import annotations

from pathlib import Path

import jks  # type: ignore[import-not-found]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DATA = Path(__file__).resolve().parent.parent / "tests" / "trust_store" / "data"
TIMESTAMP_MS = 1764633600000


def main() -> None:
    certificates = x509.load_pem_x509_certificates((DATA / "us-west-2-roots.pem").read_bytes())
    entries = []
    for index, certificate in enumerate(certificates):
        entry = jks.TrustedCertEntry.new(
            f"rds-root-{index}", certificate.public_bytes(serialization.Encoding.DER)
        )
        entry.timestamp = TIMESTAMP_MS
        entries.append(entry)
    jks.KeyStore.new("jks", entries).save(str(DATA / "us-west-2-roots.jks"), "changeit")
    jks.KeyStore.new("jks", entries).save(str(DATA / "us-west-2-roots-s3cret-pass.jks"), "s3cret-pass")
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = certificates[2].public_bytes(serialization.Encoding.DER)
    private = jks.PrivateKeyEntry.new("app", [der], key, "pkcs8")
    private.timestamp = TIMESTAMP_MS
    private.encrypt("changeit")
    jks.KeyStore.new("jks", [private]).save(str(DATA / "private-key-entry.jks"), "changeit")


if __name__ == "__main__":
    main()
