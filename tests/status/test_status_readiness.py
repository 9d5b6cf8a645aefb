"""`status` readiness (issue 14 section 1): the databases off the region's CA, what rotating them means,
the pending rotations; --expiring-within, the 120-column table, --format csv, --state, --ou."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from status_support import CALLER_ACCOUNT, HOME, ROLE_NAME, Account

from rds_override_local import rds_emulator as emulator
from rds_override_tools import cli
from rds_override_tools.readiness import measure, target_certificate
from rds_override_tools.rotation import Database, EngineFacts, Kind, MaintenanceAction

US = "us-east-1"
SOON = datetime(2027, 1, 5, tzinfo=UTC)
LATER = datetime(2027, 3, 1, tzinfo=UTC)


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["status", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def instance(account: Account, identifier: str, certificate: str, engine: str = "postgres") -> str:
    version = "15.00.4415.2.v1" if engine.startswith("sqlserver") else "16.3"
    account.create_instance(
        HOME,
        identifier,
        certificate=certificate,
        valid_till=datetime.now(UTC) + timedelta(days=400),
        engine=engine,
        version=version,
    )
    answer = account.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)
    return str(answer["DBInstances"][0]["DBInstanceArn"])


class TestReadiness:
    def test_against_the_declared_ca(self, caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
        caller.declare(HOME, caller.create_stack("team-a"), "rds-ca-rsa4096-g1")
        pg = instance(caller, "pg-1", "rds-ca-rsa2048-g1")
        instance(caller, "mssql-1", "rds-ca-rsa2048-g1", engine="sqlserver-se")
        instance(caller, "pg-2", "rds-ca-rsa4096-g1")
        mssql = caller.client("rds").describe_db_instances(DBInstanceIdentifier="mssql-1")["DBInstances"][0]
        emulator.add_pending_maintenance_action(
            CALLER_ACCOUNT, HOME, pg, auto_applied_after=LATER, forced_apply=LATER
        )
        emulator.add_pending_maintenance_action(
            CALLER_ACCOUNT,
            HOME,
            mssql["DBInstanceArn"],
            auto_applied_after=SOON,
            forced_apply=LATER + timedelta(1),
        )
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 0
        assert report["rows"][0]["readiness"] == {
            "target_certificate": "rds-ca-rsa4096-g1",
            "databases": 3,
            "off_target": 2,
            "restarts_to_rotate": 1,  # SQL Server restarts; PostgreSQL does not (emulator rule)
            "without_target_support": 0,
            "pending_rotations": 2,
            "earliest_auto_applied_after": "2027-01-05T00:00:00Z",
            "earliest_forced_apply": "2027-03-01T00:00:00Z",
        }

    def test_without_a_declaration_the_default_for_new_launches(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.set_override(CALLER_ACCOUNT, HOME, "rds-ca-ecc384-g1")  # undeclared: still the default
        instance(caller, "mssql-1", "rds-ca-rsa2048-g1", engine="sqlserver-se")
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 1  # undeclared
        readiness = report["rows"][0]["readiness"]
        assert readiness["target_certificate"] == "rds-ca-ecc384-g1"
        assert (readiness["off_target"], readiness["without_target_support"]) == (1, 1)

    def test_a_multi_az_cluster_counts_once_with_its_own_ca(self) -> None:
        cluster = Database(
            Kind.CLUSTER, "mc-1", "arn:c", "postgres", "16.3", "rds-ca-rsa2048-g1", "available"
        )
        member = Database(
            Kind.INSTANCE,
            "mc-1-a",
            "arn:i",
            "postgres",
            "16.3",
            "rds-ca-rsa2048-g1",
            "available",
            multi_az_cluster="mc-1",
        )
        ready = measure(
            "rds-ca-rsa4096-g1",
            [cluster, member],
            {("postgres", "16.3"): EngineFacts(("rds-ca-rsa4096-g1",), True)},
            {"arn:c": MaintenanceAction("arn:c")},
        )
        assert (ready.databases, ready.off_target, ready.restarts, ready.pending_rotations) == (1, 1, 0, 1)

    def test_declarations_that_disagree_have_no_target(self) -> None:
        assert target_certificate(["a", "b"], "c") is None
        assert target_certificate(["a", "a"], "c") == "a"
        assert target_certificate([], "c") == "c"
        assert measure(None, [], {}, {}).off_target == 0


class TestExpiringWithin:
    def test_a_server_certificate_within_the_horizon_exits_1(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.create_instance(
            HOME,
            "pg-1",
            certificate="rds-ca-rsa2048-g1",
            valid_till=datetime.now(UTC) + timedelta(days=10),
            engine="postgres",
            version="16.3",
        )
        code, report, err = status(capsys, "--regions", HOME, "--expiring-within", "30")
        assert code == 1
        assert "pg-1 expires" in err
        assert [i["identifier"] for i in report["rows"][0]["instances_expiring_within_30_days"]] == ["pg-1"]
        code, _, err = status(capsys, "--regions", HOME, "--expiring-within", "5")
        assert (code, err) == (0, "")

    def test_the_override_and_the_default_ca_count_too(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        now = datetime.now(UTC)
        emulator.add_certificate(
            CALLER_ACCOUNT,
            HOME,
            "rds-ca-short",
            valid_from=now - timedelta(days=1),
            valid_till=now + timedelta(20),
        )
        emulator.set_override(CALLER_ACCOUNT, HOME, "rds-ca-short")
        caller.declare(HOME, caller.create_stack("team-a"), "rds-ca-short", apply=False)
        code, _, err = status(capsys, "--regions", HOME, "--expiring-within", "30")
        assert code == 1
        assert "default CA rds-ca-short expires" in err
        assert "override expires" in err
        # without --expiring-within the same fleet is in sync: the exit status only follows the states
        assert status(capsys, "--regions", HOME)[0] == 0

    def test_a_multi_az_cluster_server_certificate_counts_too(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        now = datetime.now(UTC)
        emulator.add_certificate(
            CALLER_ACCOUNT,
            HOME,
            "rds-ca-short",
            valid_from=now - timedelta(days=1),
            valid_till=now + timedelta(9),
        )
        caller.client("rds").create_db_cluster(
            DBClusterIdentifier="maz-1",
            Engine="postgres",
            DBClusterInstanceClass="db.m6gd.large",
            MasterUsername="admin",
            MasterUserPassword="password123",
            AllocatedStorage=100,
            StorageType="io1",
            Iops=1000,
            CACertificateIdentifier="rds-ca-short",
        )
        code, report, err = status(capsys, "--regions", HOME, "--expiring-within", "30")
        assert code == 1
        assert "maz-1 expires" in err
        assert report["rows"][0]["readiness"]["off_target"] == 1


class TestOutput:
    def test_the_default_table_fits_120_columns_and_the_notes_go_below(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack("a-stack-with-a-rather-long-name"), "rds-ca-rsa4096-g1")
        emulator.set_override(CALLER_ACCOUNT, US, "rds-ca-ecc384-g1")
        caller.create_instance(
            US,
            "mssql-with-a-long-identifier-1",
            certificate="rds-ca-rsa2048-g1",
            valid_till=datetime.now(UTC) + timedelta(days=3),
            engine="sqlserver-se",
            version="15.00.4415.2.v1",
        )
        code = cli.main(["status", "--regions", f"{HOME},{US},ap-southeast-2"])
        lines = capsys.readouterr().out.splitlines()
        assert code == 1
        assert max(len(line) for line in lines) <= 120
        assert lines[0].split() == [
            "ACCOUNT", "REGION", "STATE", "DEFAULT", "OVERRIDE", "EXP", "<=90D", "OFF-CA", "RESTART",
            "PENDING", "FORCED",
        ]  # fmt: skip
        assert lines[lines.index("NOTES") + 1].startswith(
            f"{CALLER_ACCOUNT} {US}: mssql-with-a-long-identifier-1"
        )
        us = next(line for line in lines if line.startswith(f"{CALLER_ACCOUNT}  {US}"))
        assert us.split()[2:9] == ["undeclared", "rds-ca-ecc384-g1", "yes", "1", "1", "1", "0"]

    def test_csv_has_every_column(self, caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
        caller.declare(HOME, caller.create_stack("team-a"), "rds-ca-rsa4096-g1")
        assert cli.main(["status", "--format", "csv", "--regions", f"{HOME},{US}"]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [(row["REGION"], row["STATE"], row["DECLARED BY"]) for row in rows] == [
            (HOME, "in-sync", "team-a/RdsCertificateOverride"),
            (US, "in-sync", "-"),
        ]
        assert list(rows[0])[-3:] == ["FORCED", "DECLARED BY", "NOTES"]

    def test_state_filters_the_rows_and_the_exit_status(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.set_override(CALLER_ACCOUNT, US, "rds-ca-ecc384-g1")
        code, report, _ = status(capsys, "--regions", f"{HOME},{US}", "--state", "in-sync")
        assert (code, [row["region"] for row in report["rows"]]) == (0, [HOME])
        code, report, _ = status(capsys, "--regions", f"{HOME},{US}", "--state", "undeclared,drift")
        assert (code, [row["region"] for row in report["rows"]]) == (1, [US])

    def test_json_flag_still_works(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli.main(["status", "--json", "--regions", HOME]) == 0
        assert json.loads(capsys.readouterr().out)["summary"]["in-sync"] == 1


class TestOrganizationalUnit:
    def test_the_accounts_of_the_unit_and_of_the_units_under_it(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        organizations = boto3.client("organizations", region_name=US)
        organizations.create_organization(FeatureSet="ALL")
        root = organizations.list_roots()["Roots"][0]["Id"]
        unit = organizations.create_organizational_unit(ParentId=root, Name="workloads")[
            "OrganizationalUnit"
        ]["Id"]
        under = organizations.create_organizational_unit(ParentId=unit, Name="prod")["OrganizationalUnit"][
            "Id"
        ]
        created = [
            organizations.create_account(AccountName=name, Email=f"{name}@example.com")[
                "CreateAccountStatus"
            ]["AccountId"]
            for name in ("in-unit", "under-unit", "elsewhere")
        ]
        for account, parent in ((created[0], unit), (created[1], under)):
            organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        code, report, _ = status(capsys, "--ou", unit, "--role-name", ROLE_NAME, "--regions", HOME)
        assert code == 0
        assert sorted(row["account"] for row in report["rows"]) == sorted(created[:2])

    def test_an_empty_unit_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        organizations = boto3.client("organizations", region_name=US)
        organizations.create_organization(FeatureSet="ALL")
        root = organizations.list_roots()["Roots"][0]["Id"]
        unit = organizations.create_organizational_unit(ParentId=root, Name="empty")["OrganizationalUnit"][
            "Id"
        ]
        with pytest.raises(SystemExit) as exit_:
            cli.main(["status", "--ou", unit, "--role-name", ROLE_NAME])
        assert exit_.value.code == 2
        assert f"--ou {unit}: no ACTIVE account in it or under it" in capsys.readouterr().err
