"""`rds-certificate-override check-trust-store` on moto with the RDS emulator, run as `cli.main([...])`, on
real files: the emulator's own regional roots, bundled whole, trimmed or stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from keystores import java_truststore, jks, write

from rds_override_local import organization, settings
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloud import create_stack
from rds_override_local.rds_emulator import ca_roots
from rds_override_tools import cli

pytestmark = pytest.mark.usefixtures("aws")

HOME = settings.REGION
ACCOUNT = settings.ACCOUNT_ID
OTHER = settings.OTHER_REGION
REGIONS = f"{HOME},{OTHER}"


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["check-trust-store", *args, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.startswith("{") else {}


def bundle(
    tmp_path: Path, kind: ca_roots.BundleKind = "whole", regions: str = REGIONS, name: str = ""
) -> str:
    return write(tmp_path / (name or f"{kind}.pem"), ca_roots.bundle(regions.split(","), kind))


def verdicts(report: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {
        (row["store"].rsplit("/", 1)[-1], row["region"], row["certificate"]): row["verdict"]
        for row in report["rows"]
    }


def create(identifier: str, ca: str, region: str = HOME) -> None:
    boto3.client("rds", region_name=region).create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        EngineVersion="16.3",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        CACertificateIdentifier=ca,
    )


class TestVerdicts:
    def test_a_whole_bundle_trusts_everything_and_a_stale_one_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        whole, stale = bundle(tmp_path, "whole"), bundle(tmp_path, "stale")
        code, report = check(capsys, whole, stale, "--regions", REGIONS, "--to", "rds-ca-rsa4096-g1")
        assert code == 1
        assert verdicts(report) == {
            ("whole.pem", HOME, "rds-ca-rsa4096-g1"): "found",
            ("whole.pem", OTHER, "rds-ca-rsa4096-g1"): "found",
            ("stale.pem", HOME, "rds-ca-rsa4096-g1"): "missing",
            ("stale.pem", OTHER, "rds-ca-rsa4096-g1"): "missing",
        }
        assert report["matched_by"] == "thumbprint"

    def test_every_store_ready_exits_0(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        code, _ = check(capsys, bundle(tmp_path), "--regions", REGIONS, "--to", "rds-ca-ecc384-g1")
        assert code == 0

    def test_the_thumbprint_rds_answers_is_the_root_the_store_holds(self) -> None:
        answer = boto3.client("rds", region_name=OTHER).describe_certificates(
            CertificateIdentifier="rds-ca-rsa4096-g1"
        )
        from rds_override_tools import trust_store

        assert answer["Certificates"][0]["Thumbprint"] == trust_store.thumbprint(
            ca_roots.catalog_root(OTHER, "rds-ca-rsa4096-g1")
        )

    def test_another_region_bundle_is_missing_here(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        only_other = bundle(tmp_path, "whole", OTHER, "other.pem")
        code, report = check(capsys, only_other, "--regions", REGIONS, "--to", "rds-ca-rsa2048-g1")
        assert code == 1
        assert verdicts(report)[("other.pem", HOME, "rds-ca-rsa2048-g1")] == "missing"
        assert verdicts(report)[("other.pem", OTHER, "rds-ca-rsa2048-g1")] == "found"

    @pytest.mark.parametrize("kind", ["jks", "p12", "directory"])
    def test_keystores_and_directories_on_the_emulator_roots(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
    ) -> None:
        roots = [ca_roots.catalog_root(HOME, ca) for ca in ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1")]
        if kind == "jks":
            path = write(tmp_path / "app.truststore", jks(roots, "s3cret"))
        elif kind == "p12":
            path = write(tmp_path / "cacerts", java_truststore(roots, "s3cret"))
        else:
            write(tmp_path / "one.jks", jks(roots[:1], "s3cret"))
            write(tmp_path / "two.p12", java_truststore(roots[1:], "s3cret"))
            path = str(tmp_path)
        code, report = check(
            capsys, path, "--regions", HOME, "--to", "rds-ca-rsa4096-g1", "--storepass", "s3cret"
        )
        assert code == 0, report
        assert [row["verdict"] for row in report["rows"]] == ["found"]

    def test_the_default_target_is_the_ledger_declaration_else_the_default_for_new_launches(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        session = boto3.session.Session()
        stack_id = create_stack(session.client("cloudformation", region_name=HOME), "app")
        organization.declare(session, None, stack_id, HOME, "rds-ca-ecc384-g1")  # type: ignore[arg-type]
        code, report = check(capsys, bundle(tmp_path, "trimmed"), "--regions", REGIONS)
        assert code == 1
        assert verdicts(report) == {
            ("trimmed.pem", HOME, "rds-ca-ecc384-g1"): "missing",  # declared
            ("trimmed.pem", OTHER, "rds-ca-rsa2048-g1"): "found",  # the system default
        }

    def test_the_cas_databases_are_on_now_are_required_too(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        create("orders", "rds-ca-rsa4096-g1")
        create("billing", "rds-ca-rsa4096-g1")
        args = ["--regions", HOME, "--to", "rds-ca-rsa2048-g1"]
        code, report = check(capsys, bundle(tmp_path, "trimmed"), *args)
        assert code == 1
        in_use = [row for row in report["rows"] if not row["target"]]
        assert [(r["certificate"], r["verdict"], r["databases"]) for r in in_use] == [
            ("rds-ca-rsa4096-g1", "missing", ["billing", "orders"])
        ]
        code, report = check(capsys, bundle(tmp_path, "trimmed"), *args, "--target-only")
        assert code == 0
        assert len(report["rows"]) == 1

    def test_a_ca_expired_in_rds_exits_1_saying_so(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, report = check(capsys, bundle(tmp_path), "--regions", HOME, "--to", "rds-ca-2019")
        assert code == 1
        assert report["rows"][0]["verdict"] == "ca-expired"
        assert "expired on 2024-08-22" in report["rows"][0]["detail"]

    def test_the_table_names_the_match_and_each_store(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code = cli.main(
            ["check-trust-store", bundle(tmp_path, "stale"), "--regions", HOME, "--to", "rds-ca-ecc384-g1"]
        )
        out = capsys.readouterr().out.splitlines()
        assert code == 1
        assert out[0].split() == [
            "STORE",
            "ACCOUNT",
            "REGION",
            "CA",
            "FOR",
            "VERDICT",
            "DATABASES",
            "/",
            "DETAIL",
        ]
        assert out[1].split()[2:6] == [HOME, "rds-ca-ecc384-g1", "target", "missing"]
        assert any(line.startswith("matched by thumbprint") for line in out)
        assert any("ECC384 chains fail the handshake in some clients" in line for line in out)
        assert out[-1].endswith("stale.pem (PEM, 1 certificate(s)): 1 of 1 not trusted")

    def test_csv_has_every_row(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        cli.main(
            [
                "check-trust-store",
                bundle(tmp_path),
                "--regions",
                REGIONS,
                "--to",
                "rds-ca-rsa2048-g1",
                "--format",
                "csv",
            ]
        )
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("store,account,region,certificate,target,verdict,thumbprint")
        assert len(lines) == 3


class TestReadsEachRegionOnce:
    def test_describe_certificates_once_per_region_whatever_the_bundle(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"]
        big = write(tmp_path / "big.pem", ca_roots.bundle(regions, "whole") * 20)
        emulator.reset_calls()
        check(capsys, big, big, "--regions", ",".join(regions))
        described = [call.region for call in emulator.calls() if call.action == "DescribeCertificates"]
        assert sorted(described) == sorted(regions)


class TestOffline:
    def test_no_aws_call_and_the_match_is_by_name(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
            monkeypatch.delenv(name, raising=False)
        emulator.reset_calls()
        code, report = check(
            capsys,
            bundle(tmp_path, "trimmed"),
            bundle(tmp_path),
            "--offline",
            "--regions",
            REGIONS,
            "--to",
            "rds-ca-rsa4096-g1",
        )
        assert emulator.calls() == []
        assert code == 1
        assert report["matched_by"] == "name"
        assert {v for (store, _, _), v in verdicts(report).items() if store == "whole.pem"} == {"found"}
        assert {v for (store, _, _), v in verdicts(report).items() if store == "trimmed.pem"} == {"missing"}

    def test_offline_table_says_by_name(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        cli.main(
            [
                "check-trust-store",
                bundle(tmp_path),
                "--offline",
                "--regions",
                HOME,
                "--to",
                "rds-ca-rsa2048-g1",
            ]
        )
        assert "matched by name (--offline" in capsys.readouterr().out


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["missing.pem", "--regions", HOME], "missing.pem: no such file or directory"),
            (["wrong.jks", "--regions", HOME], "wrong.jks: JKS keystore: wrong --storepass"),
            (["notes.pem", "--regions", HOME], "not a certificate store this command reads"),
            (["whole.pem", "--offline", "--regions", HOME], "--offline needs --regions R1,R2 and --to CA"),
            (["whole.pem", "--offline", "--to", "rds-ca-rsa2048-g1"], "--offline needs --regions"),
            (
                ["whole.pem", "--offline", "--regions", "mars-1", "--to", "rds-ca-rsa2048-g1"],
                "--regions: unknown: mars-1",
            ),
            (
                ["whole.pem", "--offline", "--regions", HOME, "--to", "rds-ca-custom"],
                "--to rds-ca-custom: no published root naming",
            ),
            (
                [
                    "whole.pem",
                    "--offline",
                    "--regions",
                    HOME,
                    "--to",
                    "rds-ca-rsa2048-g1",
                    "--accounts",
                    "111111111111",
                ],
                "--offline reads nothing from AWS: drop --accounts",
            ),
            (["whole.pem", "--regions", "mars-1"], "--regions: unknown in partition aws: mars-1"),
            (["whole.pem", "--accounts", "12"], "--accounts: not 12-digit account ids: 12"),
        ],
    )
    def test_exit_2_naming_the_fix_and_nothing_read(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
    ) -> None:
        monkey_dir = tmp_path
        bundle(monkey_dir)
        write(monkey_dir / "wrong.jks", jks([ca_roots.catalog_root(HOME, "rds-ca-rsa2048-g1")], "other"))
        write(monkey_dir / "notes.pem", b"hello")
        emulator.reset_calls()
        with pytest.raises(SystemExit) as exited:
            cli.main(
                [
                    "check-trust-store",
                    *(str(monkey_dir / a) if a.endswith((".pem", ".jks")) else a for a in args),
                ]
            )
        assert exited.value.code == 2
        assert message in capsys.readouterr().err
        assert emulator.calls() == []

    def test_a_to_unknown_in_the_region_exits_2_naming_the_valid_ones(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, report = check(capsys, bundle(tmp_path), "--regions", HOME, "--to", "rds-ca-nope")
        assert code == 2
        assert report["errors"][0]["error"].startswith(
            "--to rds-ca-nope: not a certificate of this region (rds-ca-"
        )
