"""`rotate` and the clients: an expired --to refused, databases on an expired CA marked, --no-restart refused
where TLS is forced, --trust-store gating each region, the ECC384/RSA4096 risk note."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from test_rotate import HOME, by_id, ca_of, create, rotate, writes

from rds_override_local import settings
from rds_override_local.rds_emulator import ca_roots
from rds_override_tools import cli, rotation

OTHER = settings.OTHER_REGION


def parameter_group(name: str, family: str, parameter: str, value: str) -> str:
    rds = boto3.client("rds", region_name=HOME)
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description=name)
    rds.modify_db_parameter_group(
        DBParameterGroupName=name,
        Parameters=[{"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "immediate"}],
    )
    return name


def create_in_group(identifier: str, engine: str, version: str, group: str) -> None:
    create(identifier, engine, version, DBParameterGroupName=group)


class TestExpiredCa:
    def test_an_expired_to_is_refused_before_anything_changes(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("pg-1")
        with pytest.raises(SystemExit) as exited:
            cli.main(["rotate", "--regions", HOME, "--to", "rds-ca-2019", "--apply", "--yes"])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert "--to 'rds-ca-2019' expired on 2024-08-22T17:08:50Z: valid choices are rds-ca-ecc384-g1" in err
        assert writes() == []

    def test_a_database_on_an_expired_ca_is_marked_in_the_plan(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("legacy-1", ca="rds-ca-2019")
        code, report, _ = rotate(capsys, "--to", "rds-ca-rsa4096-g1")
        assert code == 1
        assert by_id(report)["legacy-1"]["certificate_expired_on"] == "2024-08-22T17:08:50Z"
        cli.main(["rotate", "--regions", HOME, "--to", "rds-ca-rsa4096-g1"])
        assert "rds-ca-2019 (expired 2024-08-22)" in capsys.readouterr().out.splitlines()[1]


class TestNoRestartWhereTlsIsForced:
    def test_forced_tls_is_skipped_with_the_parameter_named_and_never_sent(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create_in_group(
            "pg-tls", "postgres", "16.3", parameter_group("pg-tls", "postgres16", "rds.force_ssl", "1")
        )
        create_in_group(
            "my-tls",
            "mysql",
            "8.0.36",
            parameter_group("my-tls", "mysql8.0", "require_secure_transport", "ON"),
        )
        create_in_group(
            "pg-open", "postgres", "16.3", parameter_group("pg-open", "postgres16", "rds.force_ssl", "0")
        )
        code, report, _ = rotate(
            capsys, "--to", "rds-ca-rsa4096-g1", "--no-restart", "--apply", "--yes", "--when", "immediately"
        )
        items = by_id(report)
        assert items["pg-tls"]["reason"] == (
            "--no-restart refused: TLS forced (rds.force_ssl=1 in parameter group pg-tls): "
            "the new certificate would not be in use"
        )
        assert "require_secure_transport=on in parameter group my-tls" in items["my-tls"]["reason"]
        assert items["pg-open"]["outcome"] == "applied"
        assert items["pg-open"]["when"] == "immediately; new certificate in use after the next restart"
        assert code == 1
        assert ca_of("pg-tls")[0] == ca_of("my-tls")[0] == "rds-ca-rsa2048-g1"
        assert writes() == ["ModifyDBInstance"]  # pg-open only

    def test_without_no_restart_the_parameter_groups_are_not_read(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from rds_override_local import rds_emulator as emulator

        create_in_group(
            "pg-tls", "postgres", "16.3", parameter_group("pg-tls", "postgres16", "rds.force_ssl", "1")
        )
        emulator.reset_calls()
        _, report, _ = rotate(capsys, "--to", "rds-ca-rsa4096-g1")
        assert by_id(report)["pg-tls"]["outcome"] == "planned"
        assert "DescribeDBParameters" not in {call.action for call in emulator.calls()}


class TestTrustStoreGate:
    def test_a_region_whose_clients_lack_the_root_is_left_alone(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        create("pg-home")
        create("pg-other", region=OTHER)
        store = tmp_path / "app.pem"
        store.write_bytes(ca_roots.bundle([HOME], "whole"))  # the app only knows the home region's roots
        code, report, _ = rotate(
            capsys,
            "--regions",
            f"{HOME},{OTHER}",
            "--to",
            "rds-ca-rsa4096-g1",
            "--trust-store",
            str(store),
            "--apply",
            "--yes",
        )
        items = by_id(report)
        assert items["pg-home"]["outcome"] == "applied"
        assert items["pg-other"]["outcome"] == "skipped"
        assert items["pg-other"]["reason"].startswith(
            f"client trust store {store}: rds-ca-rsa4096-g1 root missing"
        )
        assert code == 1
        assert report["clients_checked"] is True
        assert {(s["region"], s["verdict"]) for s in report["trust_stores"]} == {
            (HOME, "found"),
            (OTHER, "missing"),
        }
        assert writes() == ["ModifyDBInstance"]
        cli.main(
            [
                "rotate",
                "--regions",
                f"{HOME},{OTHER}",
                "--to",
                "rds-ca-rsa4096-g1",
                "--trust-store",
                str(store),
            ]
        )
        out = " ".join(capsys.readouterr().out.split())  # long lines are wrapped
        assert f"client trust store {store}: trusts the target in 1 of 2 account-region(s)" in out
        assert f"client trust store {store}: 123456789012 {OTHER} rds-ca-rsa4096-g1 missing" in out

    def test_without_trust_store_the_plan_says_clients_were_not_checked(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("pg-1")
        _, report, _ = rotate(capsys, "--to", "rds-ca-ecc384-g1")
        assert report["clients_checked"] is False
        assert rotation.CLIENTS_NOT_CHECKED in report["notes"]
        assert any("ECC384 chains fail the handshake" in note for note in report["notes"])
        cli.main(["rotate", "--regions", HOME, "--to", "rds-ca-ecc384-g1"])
        out = capsys.readouterr().out
        assert "clients not checked: `rds-certificate-override check-trust-store PATH --to CA`" in out
        assert "ECC384 chains fail the handshake" in out

    def test_an_unreadable_store_is_bad_input_before_anything_is_read(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            cli.main(["rotate", "--regions", HOME, "--trust-store", str(tmp_path / "nope.pem")])
        assert exited.value.code == 2
        assert f"--trust-store {tmp_path / 'nope.pem'}: no such file or directory" in capsys.readouterr().err
