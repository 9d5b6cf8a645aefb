"""Client trust stores: read them (PEM, DER, PKCS#12, JKS, a directory) and judge whether they hold a region's
RDS root certificate of a CA. Pure apart from reading the files; the AWS reads live in `trust_fleet.py`.

How a root is recognised:
- by thumbprint (the default): DescribeCertificates gives each CA's `Thumbprint` in each region: the SHA-1
  digest of the root certificate's DER encoding, in lower-case hex without separators. Checked against the
  published roots: the us-west-2 rds-ca-rsa2048-g1 / rds-ca-rsa4096-g1 / rds-ca-ecc384-g1 / rds-ca-2019 roots
  of https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem hash to the thumbprints the AWS CLI's
  `describe-certificates` example shows (tests/trust_store/data/us-west-2-roots.pem). A certificate with the
  root's subject but another key has another thumbprint: it is not the root.
- by name (`--offline`, no AWS call): the published naming of the regional roots: a self-signed certificate
  whose subject CN is `Amazon RDS <region> Root CA <RSA2048|RSA4096|ECC384> G1` (rds-ca-2019: the one global
  `Amazon RDS Root 2019 CA`) with a key of that type.

JKS is read here (the format is fixed since JDK 1.2: a list of entries and a SHA-1 keyed by the password):
PyPI's reader (pyjks) was last released in 2020 and pulls in a C extension (twofish) and pycryptodomex for
formats we do not need; the operator's wheel only adds `cryptography`, which reads PEM, DER and PKCS#12.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import struct
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from rds_override_tools.published_roots import published_root, risk_note
from rds_override_tools.rotation import RegionError

DEFAULT_STOREPASS = "changeit"  # the JDK's cacerts password
# A directory is one store: these files in it (as OpenSSL's CA path, whose hashed names end in .0, .1...).
DIRECTORY_MEMBERS = re.compile(r".*\.(pem|crt|cer|der|jks|p12|pfx|keystore|truststore|\d+)", re.IGNORECASE)
STORE_TYPES = "PEM, DER, PKCS#12 (.p12/.pfx, a modern cacerts), JKS (trusted certificates), or a directory"

_JKS_MAGIC = 0xFEEDFEED
_JCEKS_MAGIC = 0xCECECECE
_JKS_TRUSTED = 2
_JKS_PRIVATE_KEY = 1
_JKS_SALT = b"Mighty Aphrodite"  # the JDK's JavaKeyStore integrity salt


class StoreError(Exception):
    """A store that cannot be read: the message names the path and the fix. Exit 2."""


@dataclass(frozen=True)
class Store:
    """One store as given on the command line, and every certificate in it."""

    path: str
    kind: str  # "PEM", "PKCS#12", "JKS", "directory (N files)"...
    certificates: tuple[x509.Certificate, ...]
    _by_thumbprint: dict[str, list[x509.Certificate]] = field(default_factory=dict, compare=False, repr=False)
    _by_name: dict[str, list[x509.Certificate]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for certificate in self.certificates:  # indexed once: a 500-certificate bundle is judged in O(1)
            self._by_thumbprint.setdefault(thumbprint(certificate), []).append(certificate)
            self._by_name.setdefault(common_name(certificate), []).append(certificate)

    def with_thumbprint(self, digest: str) -> list[x509.Certificate]:
        return self._by_thumbprint.get(normalize_thumbprint(digest), [])

    def named(self, name: str) -> list[x509.Certificate]:
        return self._by_name.get(name, [])


def thumbprint(certificate: x509.Certificate) -> str:
    """DescribeCertificates' Thumbprint: SHA-1 of the DER certificate, lower-case hex."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()


def normalize_thumbprint(digest: str) -> str:
    return digest.replace(":", "").replace(" ", "").lower()


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def key_type(certificate: x509.Certificate) -> str | None:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in (2048, 4096):
        return f"rsa{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
        return "ecc384"
    return None


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def read_store(path: str, storepass: str = DEFAULT_STOREPASS) -> Store:
    """The store at `path`, read by its content (not its extension); StoreError says why not."""
    location = Path(path)
    if location.is_dir():
        members = sorted(p for p in location.iterdir() if p.is_file() and DIRECTORY_MEMBERS.fullmatch(p.name))
        if not members:
            raise StoreError(f"{path}: a directory with no certificate file in it (.pem .crt .cer .jks .p12)")
        found: list[x509.Certificate] = []
        for member in members:
            found.extend(_read_file(member, storepass)[1])
        return Store(path, f"directory ({len(members)} files)", tuple(found))
    kind, certificates = _read_file(location, storepass)
    return Store(path, kind, tuple(certificates))


def _read_file(path: Path, storepass: str) -> tuple[str, list[x509.Certificate]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file or directory") from None
    except OSError as error:
        raise StoreError(f"{path}: cannot be read: {error.strerror or error}") from None
    kind, certificates = _parse(path, data, storepass)
    if not certificates:
        raise StoreError(f"{path}: {kind} with no certificate in it")
    return kind, certificates


def _parse(path: Path, data: bytes, storepass: str) -> tuple[str, list[x509.Certificate]]:
    if b"-----BEGIN CERTIFICATE-----" in data or b"-----BEGIN TRUSTED CERTIFICATE-----" in data:
        try:
            return "PEM", x509.load_pem_x509_certificates(
                data.replace(b" TRUSTED CERTIFICATE", b" CERTIFICATE")
            )
        except ValueError as error:
            raise StoreError(f"{path}: a PEM file with a damaged certificate: {error}") from None
    if len(data) >= 4 and struct.unpack(">I", data[:4])[0] in (_JKS_MAGIC, _JCEKS_MAGIC):
        return _read_jks(path, data, storepass)
    if data[:1] == b"\x30":
        try:
            return "DER", [x509.load_der_x509_certificate(data)]
        except ValueError:
            pass
        return "PKCS#12", _read_pkcs12(path, data, storepass)
    if len(data) >= 4 and struct.unpack(">I", data[:4])[0] in (1, 2):
        raise StoreError(
            f"{path}: looks like a BouncyCastle BKS/UBER keystore, which is not read: convert it to PKCS#12 "
            "(keytool -importkeystore -srcstoretype BKS -deststoretype PKCS12 ...) or export PEM"
        )
    raise StoreError(f"{path}: not a certificate store this command reads ({STORE_TYPES}): export it as PEM")


def _read_pkcs12(path: Path, data: bytes, storepass: str) -> list[x509.Certificate]:
    try:
        loaded = pkcs12.load_pkcs12(data, storepass.encode() if storepass else None)
    except ValueError:
        if _is_pfx(data):
            raise StoreError(
                f"{path}: PKCS#12 keystore: wrong --storepass (default {DEFAULT_STOREPASS}, the JDK's)"
            ) from None
        raise StoreError(
            f"{path}: not a certificate store this command reads ({STORE_TYPES}): export it as PEM"
        ) from None
    found = [loaded.cert.certificate] if loaded.cert is not None else []
    return found + [entry.certificate for entry in loaded.additional_certs]


def _is_pfx(data: bytes) -> bool:
    """A DER SEQUENCE whose first element is INTEGER 3: a PKCS#12 PFX (RFC 7292)."""
    length = data[1] if len(data) > 1 else 0
    header = 2 + (length & 0x7F if length & 0x80 else 0)
    return data[header : header + 3] == b"\x02\x01\x03"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def utf(self) -> str:
        return self.take(self.u16()).decode("utf-8", errors="replace")


def _read_jks(path: Path, data: bytes, storepass: str) -> tuple[str, list[x509.Certificate]]:
    kind = "JKS" if struct.unpack(">I", data[:4])[0] == _JKS_MAGIC else "JCEKS"
    reader = _Reader(data)
    certificates: list[x509.Certificate] = []
    try:
        reader.take(4)
        version = reader.u32()
        for _ in range(reader.u32()):
            tag = reader.u32()
            reader.utf()  # alias
            reader.take(8)  # creation time
            if tag == _JKS_PRIVATE_KEY:
                reader.take(reader.u32())  # the encrypted key: not needed to read its certificates
                chain = [_jks_certificate(reader, version) for _ in range(reader.u32())]
                certificates.extend(chain)
            elif tag == _JKS_TRUSTED:
                certificates.append(_jks_certificate(reader, version))
            else:
                raise StoreError(
                    f"{path}: {kind} keystore with a secret-key entry, which is not read: export its "
                    "certificates (keytool -exportcert -rfc) or convert it to PKCS#12"
                )
        signed = reader.at
        digest = reader.take(20)
    except ValueError as error:
        raise StoreError(f"{path}: a damaged {kind} keystore ({error})") from None
    expected = hashlib.sha1(
        storepass.encode("utf-16-be") + _JKS_SALT + data[:signed], usedforsecurity=False
    ).digest()
    if digest != expected:
        raise StoreError(
            f"{path}: {kind} keystore: wrong --storepass (default {DEFAULT_STOREPASS}, the JDK's), "
            "or the file is damaged"
        )
    return kind, certificates


def _jks_certificate(reader: _Reader, version: int) -> x509.Certificate:
    if version == 2:
        reader.utf()  # "X.509"
    return x509.load_der_x509_certificate(reader.take(reader.u32()))


# --------------------------------------------------------------------------------------------------
# Judging
# --------------------------------------------------------------------------------------------------


class Verdict(StrEnum):
    FOUND = "found"
    MISSING = "missing"
    EXPIRED = "expired"  # the store's root has expired
    NOT_YET_VALID = "not-yet-valid"
    CA_EXPIRED = "ca-expired"  # RDS's CA itself is past its ValidTill


@dataclass(frozen=True)
class Requirement:
    """One CA a store must trust in one region, and why."""

    region: str
    certificate: str  # the CA identifier
    thumbprint: str | None  # None: --offline, matched by name
    valid_till: datetime | None  # the CA's ValidTill in RDS (None: --offline)
    target: bool  # the target CA (else: a CA databases are on now)
    databases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    store: str
    account: str | None
    requirement: Requirement
    verdict: Verdict
    detail: str = ""

    @property
    def trusted(self) -> bool:
        return self.verdict is Verdict.FOUND


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def matching(store: Store, requirement: Requirement) -> list[x509.Certificate]:
    """The store's certificates that are this region's root of the CA: by thumbprint, or by name."""
    if requirement.thumbprint is not None:
        return store.with_thumbprint(requirement.thumbprint)
    published = published_root(requirement.region, requirement.certificate)
    if published is None:
        return []
    return [
        certificate
        for certificate in store.named(published.common_name)
        if certificate.issuer == certificate.subject and key_type(certificate) == published.key_type
    ]


def judge(store: Store, requirement: Requirement, now: datetime, account: str | None = None) -> Finding:
    """Whether `store` holds the root `requirement` names, valid at `now`."""
    if requirement.valid_till is not None and requirement.valid_till <= now:
        return Finding(
            store.path,
            account,
            requirement,
            Verdict.CA_EXPIRED,
            f"{requirement.certificate} expired on {_iso(requirement.valid_till)} in RDS: rotate off it",
        )
    found = matching(store, requirement)
    if not found:
        return Finding(store.path, account, requirement, Verdict.MISSING, _missing_detail(store, requirement))
    if any(c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in found):
        return Finding(store.path, account, requirement, Verdict.FOUND)
    if all(c.not_valid_before_utc > now for c in found):
        first = min(c.not_valid_before_utc for c in found)
        return Finding(store.path, account, requirement, Verdict.NOT_YET_VALID, f"valid from {_iso(first)}")
    last = max(c.not_valid_after_utc for c in found)
    return Finding(
        store.path, account, requirement, Verdict.EXPIRED, f"the store's root expired {_iso(last)}"
    )


def _missing_detail(store: Store, requirement: Requirement) -> str:
    published = published_root(requirement.region, requirement.certificate)
    name = published.common_name if published else requirement.certificate
    if requirement.thumbprint is not None and store.named(name):
        others = ", ".join(thumbprint(c) for c in store.named(name))
        return f"{name!r} is there with another key (SHA-1 {others}), not RDS's root {requirement.thumbprint}"
    return f"add {name!r}"


def judge_all(
    stores: Sequence[Store],
    requirements: Iterable[Requirement],
    now: datetime,
    account: str | None = None,
) -> list[Finding]:
    wanted = list(requirements)
    return [judge(store, requirement, now, account) for store in stores for requirement in wanted]


def requirements(
    region: str,
    *,
    target: str,
    databases_by_ca: Mapping[str, Sequence[str]],
    thumbprints: Mapping[str, str] | None,
    valid_till: Mapping[str, datetime] | None,
) -> list[Requirement]:
    """What a store must trust in one region: the target CA, then each CA databases are on now (by name).

    thumbprints / valid_till: DescribeCertificates' by CA identifier; None with --offline. A CA databases
    are on but DescribeCertificates does not list is required by name."""
    wanted = [target, *sorted(ca for ca in databases_by_ca if ca != target)]
    return [
        Requirement(
            region=region,
            certificate=ca,
            thumbprint=thumbprints.get(ca) if thumbprints is not None else None,
            valid_till=valid_till.get(ca) if valid_till is not None else None,
            target=ca == target,
            databases=tuple(sorted(databases_by_ca.get(ca, ()))),
        )
        for ca in wanted
    ]


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------

REPORT_COLUMNS = ("STORE", "ACCOUNT", "REGION", "CA", "FOR", "VERDICT", "DATABASES / DETAIL")


def exit_code(findings: Sequence[Finding], errors: Sequence[RegionError]) -> int:
    """0: every store trusts all it must everywhere; 1: something missing, expired or not yet valid (or
    RDS's CA itself expired); 2: a region could not be read (wins)."""
    if errors:
        return 2
    return 0 if all(finding.trusted for finding in findings) else 1


def _cells(finding: Finding) -> tuple[str, ...]:
    requirement = finding.requirement
    databases = ",".join(requirement.databases)
    detail = "; ".join(part for part in (databases, finding.detail) if part) or "-"
    return (
        finding.store,
        finding.account or "-",
        requirement.region,
        requirement.certificate,
        "target" if requirement.target else "in-use",
        str(finding.verdict),
        detail,
    )


def matched_by(offline: bool) -> str:
    if offline:
        return "name (--offline: subject, key type, self-signed, validity), not thumbprint"
    return "thumbprint (SHA-1 of the root certificate, as DescribeCertificates gives it in each region)"


def report_table(
    stores: Sequence[Store], findings: Sequence[Finding], errors: Sequence[RegionError], *, offline: bool
) -> str:
    table = [REPORT_COLUMNS, *(_cells(finding) for finding in findings)]
    widths = [max(len(line[index]) for line in table) for index in range(len(REPORT_COLUMNS) - 1)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in table
    ]
    lines.extend(f"{error.account}  {error.region}  could not be read: {error.error}" for error in errors)
    lines.append(f"matched by {matched_by(offline)}")
    for note in sorted({risk_note(f.requirement.certificate) or "" for f in findings} - {""}):
        lines.extend(textwrap.wrap(note, width=120, subsequent_indent="    ", break_on_hyphens=False))
    for store in stores:
        mine = [finding for finding in findings if finding.store == store.path]
        wrong = [finding for finding in mine if not finding.trusted]
        verdict = "trusts everything it must" if not wrong else f"{len(wrong)} of {len(mine)} not trusted"
        lines.append(f"{store.path} ({store.kind}, {len(store.certificates)} certificate(s)): {verdict}")
    return "\n".join(lines)


def finding_json(finding: Finding) -> dict[str, object]:
    requirement = finding.requirement
    return {
        "store": finding.store,
        "account": finding.account,
        "region": requirement.region,
        "certificate": requirement.certificate,
        "target": requirement.target,
        "verdict": str(finding.verdict),
        "thumbprint": requirement.thumbprint,
        "ca_valid_till": _iso(requirement.valid_till) if requirement.valid_till else None,
        "databases": list(requirement.databases),
        "detail": finding.detail or None,
    }


def report_json(
    stores: Sequence[Store],
    findings: Sequence[Finding],
    errors: Sequence[RegionError],
    *,
    offline: bool,
    generated_at: datetime,
) -> str:
    document = {
        "generated_at": _iso(generated_at),
        "matched_by": "name" if offline else "thumbprint",
        "stores": [{"path": s.path, "kind": s.kind, "certificates": len(s.certificates)} for s in stores],
        "rows": [finding_json(finding) for finding in findings],
        "errors": [vars(error) for error in errors],
    }
    return json.dumps(document, indent=2)


def report_csv(findings: Sequence[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = [
        "store",
        "account",
        "region",
        "certificate",
        "target",
        "verdict",
        "thumbprint",
        "ca_valid_till",
        "databases",
        "detail",
    ]
    writer.writerow(columns)
    for finding in findings:
        row = finding_json(finding)
        row["databases"] = " ".join(finding.requirement.databases)
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue().rstrip("\n")
