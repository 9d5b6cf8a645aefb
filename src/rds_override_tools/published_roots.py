"""What RDS publishes about its CAs' regional roots: the naming of each (subject CN and key type, what
`check-trust-store --offline` matches and what the emulator names its roots), and which targets some clients
fail to handshake with. Plain data: no AWS call, no file."""

from __future__ import annotations

import re
from dataclasses import dataclass

_G1 = re.compile(r"rds-ca-(rsa2048|rsa4096|ecc384)-g1(-.*)?")
_KEY_LABEL = {"rsa2048": "RSA2048", "rsa4096": "RSA4096", "ecc384": "ECC384"}
LEGACY_ROOT = "rds-ca-2019"
# CAs whose handshakes some client families fail (issue reports: Npgsql, EF Core's PostgreSQL provider,
# Postico, psql against Aurora PostgreSQL, DBeaver, MySqlConnector).
RISKY_KEY_TYPES = ("rsa4096", "ecc384")


@dataclass(frozen=True)
class PublishedRoot:
    """What RDS publishes for one CA's root in one region."""

    common_name: str
    key_type: str  # rsa2048, rsa4096, ecc384


def published_root(region: str, certificate_identifier: str) -> PublishedRoot | None:
    """The subject CN and key type RDS publishes for this CA's root in `region`; None for a CA whose naming
    is not known here (then only a thumbprint can tell)."""
    if certificate_identifier == LEGACY_ROOT:  # one global root, regional intermediates under it
        return PublishedRoot("Amazon RDS Root 2019 CA", "rsa2048")
    found = _G1.fullmatch(certificate_identifier)
    if found is None:
        return None
    key_type = found.group(1)
    return PublishedRoot(f"Amazon RDS {region} Root CA {_KEY_LABEL[key_type]} G1", key_type)


def risk_note(certificate_identifier: str) -> str | None:
    """A short warning for targets whose handshakes some clients fail; None for the others."""
    found = _G1.fullmatch(certificate_identifier)
    if found is None or found.group(1) not in RISKY_KEY_TYPES:
        return None
    return (
        f"{certificate_identifier}: {_KEY_LABEL[found.group(1)]} chains fail the handshake in some clients "
        "(reported: Npgsql, EF Core's PostgreSQL provider, Postico, psql, DBeaver, MySqlConnector): "
        "check your driver against it before applying"
    )
