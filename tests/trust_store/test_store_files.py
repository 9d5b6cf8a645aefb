"""Reading stores from real files in every format, and judging them: no AWS here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from keystores import DATA, PUBLISHED_US_WEST_2, java_truststore, jks, pem, published, write

from rds_override_local.rds_emulator import DEFAULT_CATALOG, ca_roots
from rds_override_tools import published_roots, trust_store
from rds_override_tools.trust_store import Requirement, StoreError, Verdict

NOW = datetime(2026, 12, 2, tzinfo=UTC)
REGION = "eu-west-1"
PUBLISHED = published()


def roots(region: str = REGION) -> list[x509.Certificate]:
    return [ca_roots.catalog_root(region, entry.certificate_identifier) for entry in DEFAULT_CATALOG]


def need(ca: str, region: str = REGION, *, offline: bool = False) -> Requirement:
    root = ca_roots.catalog_root(region, ca)
    return Requirement(
        region=region,
        certificate=ca,
        thumbprint=None if offline else trust_store.thumbprint(root),
        valid_till=None,
        target=True,
    )


class TestThumbprint:
    def test_it_is_the_sha1_of_the_der_certificate_as_rds_publishes_it(self) -> None:
        """The published us-west-2 roots hash to the thumbprints the AWS CLI's describe-certificates example
        shows for us-west-2 (the emulator's DEFAULT_CATALOG keeps those values)."""
        published = {trust_store.common_name(c): trust_store.thumbprint(c) for c in PUBLISHED}
        assert published == {
            "Amazon RDS us-west-2 Root CA RSA2048 G1": "7c40cb42714b6fdb2b296f9bbd0e8bb364436a76",
            "Amazon RDS us-west-2 Root CA RSA4096 G1": "19da4f2af579a8ae1f6a0fa77aa5befd874b4cab",
            "Amazon RDS us-west-2 Root CA ECC384 G1": "2ee3dcc06e50192559b13929e73484354f23387d",
            "Amazon RDS Root 2019 CA": "d40ddb29e3750dffa671c3140bbf5f478d1c8096",
        }
        assert sorted(published.values()) == sorted(entry.thumbprint for entry in DEFAULT_CATALOG)

    def test_the_published_naming_is_what_rds_publishes(self) -> None:
        for certificate in PUBLISHED:
            ca = next(
                e.certificate_identifier
                for e in DEFAULT_CATALOG
                if e.thumbprint == trust_store.thumbprint(certificate)
            )
            published = published_roots.published_root("us-west-2", ca)
            assert published is not None
            assert trust_store.common_name(certificate) == published.common_name
            assert trust_store.key_type(certificate) == published.key_type
            assert certificate.issuer == certificate.subject

    def test_the_emulator_names_its_roots_as_rds_does(self) -> None:
        made = ca_roots.catalog_root("us-west-2", "rds-ca-rsa4096-g1")
        real = next(c for c in PUBLISHED if "RSA4096" in trust_store.common_name(c))
        assert made.subject == real.subject
        assert (made.not_valid_before_utc, made.not_valid_after_utc) == (
            real.not_valid_before_utc,
            real.not_valid_after_utc,
        )


class TestFormats:
    """Each format read from a file its tools would write; the same four published roots in each."""

    def expected(self) -> list[str]:
        return [trust_store.thumbprint(c) for c in PUBLISHED]

    def read(self, path: str | Path, password: str = trust_store.DEFAULT_STOREPASS) -> trust_store.Store:
        return trust_store.read_store(str(path), password)

    def test_pem_bundle(self) -> None:
        store = self.read(PUBLISHED_US_WEST_2)
        assert (store.kind, [trust_store.thumbprint(c) for c in store.certificates]) == (
            "PEM",
            self.expected(),
        )

    def test_jks_written_by_pyjks(self) -> None:
        store = self.read(DATA / "us-west-2-roots.jks")
        assert (store.kind, [trust_store.thumbprint(c) for c in store.certificates]) == (
            "JKS",
            self.expected(),
        )

    def test_jks_with_its_own_password(self) -> None:
        store = self.read(DATA / "us-west-2-roots-s3cret-pass.jks", "s3cret-pass")
        assert len(store.certificates) == 4

    def test_jks_private_key_entry_gives_its_chain(self) -> None:
        store = self.read(DATA / "private-key-entry.jks")
        assert [trust_store.common_name(c) for c in store.certificates] == [
            "Amazon RDS us-west-2 Root CA ECC384 G1"
        ]

    def test_the_tests_jks_writer_is_pyjks_byte_for_byte(self) -> None:
        assert jks(PUBLISHED, "changeit") == (DATA / "us-west-2-roots.jks").read_bytes()

    def test_pkcs12_java_truststore(self, tmp_path: Path) -> None:
        path = write(tmp_path / "cacerts", java_truststore(PUBLISHED, "changeit"))
        store = self.read(path)
        assert (store.kind, sorted(trust_store.thumbprint(c) for c in store.certificates)) == (
            "PKCS#12",
            sorted(self.expected()),
        )

    def test_der_single_certificate(self, tmp_path: Path) -> None:
        from cryptography.hazmat.primitives import serialization

        path = write(tmp_path / "root.cer", PUBLISHED[0].public_bytes(serialization.Encoding.DER))
        assert self.read(path).kind == "DER"

    def test_a_directory_is_the_union_of_its_certificate_files(self, tmp_path: Path) -> None:
        write(tmp_path / "a.pem", pem(PUBLISHED[:1]))
        write(tmp_path / "b.jks", jks(PUBLISHED[1:2], "changeit"))
        write(tmp_path / "c.p12", java_truststore(PUBLISHED[2:3], "changeit"))
        write(tmp_path / "README.txt", b"not a certificate")  # not a certificate file: not read
        store = self.read(tmp_path)
        assert store.kind == "directory (3 files)"
        assert sorted(trust_store.thumbprint(c) for c in store.certificates) == sorted(self.expected()[:3])

    @pytest.mark.parametrize(
        ("name", "kind"), [("truststore.pem", "JKS"), ("bundle.jks", "PEM"), ("cacerts.crt", "PKCS#12")]
    )
    def test_read_by_content_not_extension(self, tmp_path: Path, name: str, kind: str) -> None:
        data = {
            "JKS": jks(PUBLISHED, "changeit"),
            "PEM": pem(PUBLISHED),
            "PKCS#12": java_truststore(PUBLISHED, "changeit"),
        }[kind]
        store = self.read(write(tmp_path / name, data))
        assert (store.kind, len(store.certificates)) == (kind, 4)


class TestBadStores:
    @pytest.mark.parametrize(
        ("name", "data", "password", "message"),
        [
            ("missing.pem", None, "changeit", "no such file or directory"),
            ("store.jks", "jks", "wrong", "JKS keystore: wrong --storepass (default changeit"),
            ("store.p12", "p12", "wrong", "PKCS#12 keystore: wrong --storepass (default changeit"),
            ("notes.pem", b"hello", "changeit", "not a certificate store this command reads"),
            ("empty.pem", b"", "changeit", "not a certificate store this command reads"),
            (
                "damaged.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "x",
                "damaged",
            ),
            ("store.bks", b"\x00\x00\x00\x02" + b"\x00" * 40, "changeit", "BouncyCastle BKS"),
            ("truncated.jks", "truncated", "changeit", "a damaged JKS keystore"),
        ],
    )
    def test_each_names_the_file_and_the_fix(
        self, tmp_path: Path, name: str, data: bytes | str | None, password: str, message: str
    ) -> None:
        payload = (
            {
                "jks": jks(PUBLISHED, "changeit"),
                "p12": java_truststore(PUBLISHED, "changeit"),
                "truncated": jks(PUBLISHED, "changeit")[:100],
            }.get(data, data)
            if isinstance(data, str)
            else data
        )
        path = tmp_path / name
        if payload is not None:
            path.write_bytes(payload)
        with pytest.raises(StoreError, match=str(path)) as raised:
            trust_store.read_store(str(path), password)
        assert message in str(raised.value)

    def test_a_directory_without_certificate_files(self, tmp_path: Path) -> None:
        (tmp_path / "notes.txt").write_text("x")
        with pytest.raises(StoreError, match="no certificate file"):
            trust_store.read_store(str(tmp_path))


def store_of(tmp_path: Path, certificates: list[x509.Certificate], name: str = "s.pem") -> trust_store.Store:
    return trust_store.read_store(write(tmp_path / name, pem(certificates)))


class TestJudging:
    def test_the_root_is_found_by_thumbprint(self, tmp_path: Path) -> None:
        finding = trust_store.judge(store_of(tmp_path, roots()), need("rds-ca-rsa4096-g1"), NOW)
        assert finding.verdict is Verdict.FOUND

    def test_another_region_root_is_not_this_region_root(self, tmp_path: Path) -> None:
        finding = trust_store.judge(store_of(tmp_path, roots("us-east-1")), need("rds-ca-rsa4096-g1"), NOW)
        assert finding.verdict is Verdict.MISSING
        assert finding.detail == "add 'Amazon RDS eu-west-1 Root CA RSA4096 G1'"

    def impostor(self, ca: str = "rds-ca-rsa4096-g1", **dates: datetime) -> x509.Certificate:
        real = ca_roots.catalog_root(REGION, ca)
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if "rsa" in ca
            else ec.generate_private_key(ec.SECP384R1())
        )
        return ca_roots.make_root(
            real.subject,
            "rsa2048",
            dates.get("valid_from", real.not_valid_before_utc),
            dates.get("valid_till", real.not_valid_after_utc),
            key=key,
        )

    def test_the_same_subject_with_another_key_is_not_the_root(self, tmp_path: Path) -> None:
        impostor = self.impostor("rds-ca-ecc384-g1")
        finding = trust_store.judge(store_of(tmp_path, [impostor]), need("rds-ca-ecc384-g1"), NOW)
        assert finding.verdict is Verdict.MISSING
        assert "is there with another key" in finding.detail

    def test_offline_the_impostor_with_another_key_type_is_not_the_root(self, tmp_path: Path) -> None:
        impostor = self.impostor("rds-ca-rsa4096-g1")  # a 2048-bit key under the RSA4096 name
        finding = trust_store.judge(
            store_of(tmp_path, [impostor]), need("rds-ca-rsa4096-g1", offline=True), NOW
        )
        assert finding.verdict is Verdict.MISSING

    def test_offline_the_published_name_key_type_and_self_signature_match(self, tmp_path: Path) -> None:
        finding = trust_store.judge(store_of(tmp_path, roots()), need("rds-ca-ecc384-g1", offline=True), NOW)
        assert finding.verdict is Verdict.FOUND

    def dated(self, valid_from: datetime, valid_till: datetime) -> tuple[x509.Certificate, Requirement]:
        subject, key_type = ca_roots._subject(REGION, "rds-ca-rsa2048-g1")
        certificate = ca_roots.make_root(subject, key_type, valid_from, valid_till)
        return certificate, Requirement(
            REGION, "rds-ca-rsa2048-g1", trust_store.thumbprint(certificate), None, True
        )

    def test_an_expired_root_in_the_store_is_named_expired(self, tmp_path: Path) -> None:
        certificate, requirement = self.dated(NOW - timedelta(days=400), NOW - timedelta(days=1))
        finding = trust_store.judge(store_of(tmp_path, [certificate]), requirement, NOW)
        assert finding.verdict is Verdict.EXPIRED

    def test_a_root_not_yet_valid_is_named_so(self, tmp_path: Path) -> None:
        certificate, requirement = self.dated(NOW + timedelta(days=1), NOW + timedelta(days=400))
        finding = trust_store.judge(store_of(tmp_path, [certificate]), requirement, NOW)
        assert finding.verdict is Verdict.NOT_YET_VALID

    def test_a_ca_expired_in_rds_is_said_whatever_the_store_holds(self, tmp_path: Path) -> None:
        requirement = Requirement(REGION, "rds-ca-2019", None, datetime(2024, 8, 22, tzinfo=UTC), True)
        finding = trust_store.judge(store_of(tmp_path, roots()), requirement, NOW)
        assert finding.verdict is Verdict.CA_EXPIRED
        assert "expired on 2024-08-22" in finding.detail


POOL = [*roots(), *roots("us-east-1"), *PUBLISHED]


@settings(max_examples=40, deadline=None)
@given(st.permutations(POOL), st.sets(st.integers(0, len(POOL) - 1)))
def test_the_verdict_does_not_depend_on_the_order_of_the_certificates(
    shuffled: list[x509.Certificate], dropped: set[int]
) -> None:
    kept = [c for i, c in enumerate(POOL) if i not in dropped]
    reordered = [c for c in shuffled if c in kept]
    requirements = [need(e.certificate_identifier) for e in DEFAULT_CATALOG] + [
        need(e.certificate_identifier, offline=True) for e in DEFAULT_CATALOG
    ]
    as_given = trust_store.Store("s", "PEM", tuple(kept))
    as_shuffled = trust_store.Store("s", "PEM", tuple(reordered))
    assert trust_store.judge_all([as_given], requirements, NOW) == trust_store.judge_all(
        [as_shuffled], requirements, NOW
    )
