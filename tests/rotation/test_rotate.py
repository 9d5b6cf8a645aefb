"""`rds-certificate-override rotate` on moto with the RDS emulator, run as `cli.main([...])`: the safety
rules of issue 14 section 5 (nothing modified without --apply; the apply touches what the plan listed; never
an unsupported engine; a second apply is a no-op; an interrupted apply leaves a true report; no way past the
confirmation without --yes), and what each kind of database is sent."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from rds_override_local import rds_emulator as emulator
from rds_override_local import settings
from rds_override_tools import aws, cli, rotate_fleet, rotation
from rds_override_tools.rotation import Item, Options, Outcome

HOME = settings.REGION
ACCOUNT = settings.ACCOUNT_ID
OLD = "rds-ca-rsa2048-g1"  # the region's default for new launches
TARGET = "rds-ca-ecc384-g1"  # which SQL Server does not accept
WRITES = {"ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction"}


def rds() -> Any:
    return boto3.client("rds", region_name=HOME)


def create(
    identifier: str,
    engine: str = "postgres",
    version: str = "16.3",
    ca: str = OLD,
    *,
    region: str = HOME,
    **more: str,
) -> str:
    """A DB instance (`more`: other CreateDBInstance parameters, e.g. DBParameterGroupName)."""
    answer = boto3.client("rds", region_name=region).create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine=engine,
        EngineVersion=version,
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        CACertificateIdentifier=ca,
        **more,  # type: ignore[arg-type]
    )
    return str(answer["DBInstance"]["DBInstanceArn"])


def create_multi_az_cluster(identifier: str) -> str:
    answer = rds().create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="postgres",
        DBClusterInstanceClass="db.m6gd.large",
        MasterUsername="admin",
        MasterUserPassword="password123",
        AllocatedStorage=100,
        StorageType="io1",
        Iops=1000,
        CACertificateIdentifier=OLD,
    )
    return str(answer["DBCluster"]["DBClusterArn"])


def mixed_fleet() -> None:
    """Two instances to rotate, a Multi-AZ DB cluster to rotate, and one of each kind to leave alone."""
    create("pg-1")
    create("pg-2", engine="mysql", version="8.0.36")
    create("mssql-1", engine="sqlserver-se", version="15.00.4415.2.v1")
    create("stopped-1")
    rds().stop_db_instance(DBInstanceIdentifier="stopped-1")
    create("busy-1")
    emulator.set_instance_status(ACCOUNT, HOME, "busy-1", "modifying")
    rds().create_db_instance_read_replica(DBInstanceIdentifier="replica-1", SourceDBInstanceIdentifier="pg-1")
    create_multi_az_cluster("mc-1")


PLANNED = {"pg-1", "pg-2", "mc-1"}
SKIPPED = {
    "mssql-1": "sqlserver-se 15.00.4415.2.v1 does not support rds-ca-ecc384-g1",
    "stopped-1": "status stopped",
    "busy-1": "status modifying",
    "replica-1": "read replica of pg-1: follows its source",
}


def rotate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    """`rotate --format json --regions HOME ARGS`: (exit code, the JSON report, stderr)."""
    code = cli.main(["rotate", "--format", "json", "--regions", HOME, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def writes() -> list[str]:
    return [call.action for call in emulator.calls() if call.action in WRITE_ACTIONS]


WRITE_ACTIONS = WRITES


def ca_of(identifier: str) -> tuple[str | None, str | None]:
    """(the CA in force, the CA pending for the maintenance window) of an instance or cluster."""
    client = rds()
    if identifier.startswith("mc-"):
        cluster = client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        pending = cluster.get("PendingModifiedValues", {}).get("CertificateDetails", {})
        return cluster["CertificateDetails"]["CAIdentifier"], pending.get("CAIdentifier")
    instance = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    return instance["CACertificateIdentifier"], instance.get("PendingModifiedValues", {}).get(
        "CACertificateIdentifier"
    )


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["identifier"]: item for item in report["items"]}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestPlan:
    def test_the_plan_lists_and_explains_and_modifies_nothing(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mixed_fleet()
        emulator.reset_calls()
        code, report, err = rotate(capsys, "--to", TARGET)
        assert code == 1  # databases left to rotate
        assert err == ""
        assert writes() == []
        items = by_id(report)
        assert {i for i, item in items.items() if item["outcome"] == "planned"} == PLANNED
        assert {i: items[i]["reason"] for i in SKIPPED} == SKIPPED
        assert items["pg-1"]["action"] == "ModifyDBInstance"
        assert items["pg-1"]["restarts"] is False  # postgres rotates without a restart (emulator rule)
        assert items["mssql-1"]["supports_target"] is False
        assert items["mc-1"]["action"] == "ModifyDBCluster"
        assert report["counts"] == {
            "databases": 3,
            "restarts": 0,
            "accounts": 1,
            "regions": 1,
            "skipped": 4,
            "scheduled": 0,
        }
        assert report["apply"] is False
        assert {ca_of(i)[0] for i in (*PLANNED, "mssql-1")} == {OLD}

    def test_the_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        create("pg-1")
        code = cli.main(["rotate", "--regions", HOME, "--to", TARGET])
        lines = capsys.readouterr().out.splitlines()
        assert code == 1
        assert lines[0].split()[:4] == ["ACCOUNT", "REGION", "DATABASE", "ENGINE"]
        assert lines[1].split()[:7] == [ACCOUNT, HOME, "pg-1", "postgres", "16.3", OLD, TARGET]
        assert lines[-1] == "1 database(s) to rotate (0 restart(s)) in 1 account(s), 1 region(s); 0 skipped"

    def test_without_to_the_target_is_the_declared_ca_else_the_default(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("old-1", ca="rds-ca-rsa4096-g1")
        create("new-1")
        code, report, _ = rotate(capsys)
        assert code == 1
        assert [(i["identifier"], i["target"]) for i in report["items"]] == [("old-1", OLD)]

    def test_a_to_the_region_does_not_have_leaves_the_region_with_no_target(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, report, _ = rotate(capsys, "--to", "rds-ca-nope")
        assert code == 2
        assert report["errors"][0]["error"].startswith("--to rds-ca-nope: not a certificate of this region")
        assert report["errors"][0]["problem"] == "no target"

    def test_a_region_with_no_target_is_not_called_unreadable_and_keeps_the_columns(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main(["rotate", "--regions", HOME, "--to", "rds-ca-nope"]) == 2
        lines = capsys.readouterr().out.splitlines()
        header, summary = lines[0], lines[-1]
        (line,) = [text for text in lines if "no target: " in text]  # the notes below it aside
        assert "unreadable" not in line + summary
        assert line.split("  no target: ", 1)[1].startswith("--to rds-ca-nope: not a certificate")
        # ACCOUNT and REGION as wide as the account id and the region: the region under REGION
        assert line.index(HOME) == header.index("REGION")
        assert summary.endswith("; 1 account-region(s) with no target")


class TestApply:
    def test_apply_touches_exactly_what_the_plan_listed_and_a_second_apply_is_a_no_op(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mixed_fleet()
        _, plan, _ = rotate(capsys, "--to", TARGET)
        planned = {item["identifier"] for item in plan["items"] if item["outcome"] == "planned"}
        emulator.reset_calls()
        code, report, _ = rotate(capsys, "--to", TARGET, "--apply", "--yes")
        assert code == 1  # the skipped ones are left
        assert sorted(writes()) == ["ModifyDBCluster", "ModifyDBInstance", "ModifyDBInstance"]
        applied = {item["identifier"] for item in report["items"] if item["outcome"] == "applied"}
        assert applied == planned == PLANNED
        # next-maintenance-window (the default): the CA waits for the window, pending
        assert {i: ca_of(i) for i in PLANNED} == {i: (OLD, TARGET) for i in PLANNED}
        # never touched: unsupported, stopped, modifying, replica
        assert {i: ca_of(i) for i in SKIPPED} == {i: (OLD, None) for i in SKIPPED}

        emulator.reset_calls()
        code, again, _ = rotate(capsys, "--to", TARGET, "--apply", "--yes")
        assert writes() == []
        assert again["counts"]["databases"] == 0
        assert {i["identifier"] for i in again["items"] if i["outcome"] == "scheduled"} == PLANNED
        assert code == 1  # still the skipped ones

    def test_immediately_changes_the_ca_now_and_the_next_plan_has_nothing(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("pg-1")
        create_multi_az_cluster("mc-1")
        code, report, _ = rotate(capsys, "--to", TARGET, "--apply", "--yes", "--when", "immediately")
        assert code == 0
        assert report["outcomes"]["applied"] == 2
        assert ca_of("pg-1") == (TARGET, None)
        assert ca_of("mc-1") == (TARGET, None)
        code, again, _ = rotate(capsys, "--to", TARGET)
        assert (code, again["items"]) == (0, [])

    def test_a_proposed_rotation_is_applied_through_the_maintenance_action(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        arn = create("pg-1", ca="rds-ca-rsa4096-g1")
        emulator.add_pending_maintenance_action(ACCOUNT, HOME, arn)
        # no --to, nothing declared: the target is the default for new launches, what RDS rotates to
        code, report, _ = rotate(capsys, "--apply", "--yes")
        assert code == 0
        assert [i["action"] for i in report["items"]] == ["ApplyPendingMaintenanceAction"]
        assert writes() == ["ApplyPendingMaintenanceAction"]
        details = rds().describe_pending_maintenance_actions()["PendingMaintenanceActions"][0]
        assert details["PendingMaintenanceActionDetails"][0]["OptInStatus"] == "next-maintenance"
        emulator.reset_calls()
        code, again, _ = rotate(capsys, "--apply", "--yes")
        assert (code, writes(), again["items"][0]["outcome"]) == (0, [], "scheduled")

    def test_no_restart_is_sent_only_where_the_engine_rotates_without_one(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        create("pg-1")
        create("mssql-1", engine="sqlserver-se", version="15.00.4415.2.v1")
        code, report, _ = rotate(
            capsys, "--to", "rds-ca-rsa4096-g1", "--apply", "--yes", "--no-restart", "--when", "immediately"
        )
        items = by_id(report)
        assert items["pg-1"]["outcome"] == "applied"  # the emulator refuses the flag where it cannot apply
        assert items["mssql-1"]["reason"] == "sqlserver-se 15.00.4415.2.v1 restarts to rotate (--no-restart)"
        assert code == 1
        assert ca_of("mssql-1") == (OLD, None)

    def test_one_database_that_fails_is_a_row_not_a_stop(self, capsys: pytest.CaptureFixture[str]) -> None:
        for name in ("pg-1", "pg-2", "pg-3"):
            create(name)
        emulator.inject_fault("ModifyDBInstance", code="InvalidDBInstanceState", message="busy", count=1)
        code, report, _ = rotate(capsys, "--to", TARGET, "--apply", "--yes", "--max-concurrent", "1")
        assert code == 2
        assert report["outcomes"]["applied"] == 2
        failed = [item for item in report["items"] if item["outcome"] == "failed"]
        assert len(failed) == 1
        assert failed[0]["error"] == "ModifyDBInstance: InvalidDBInstanceState: busy"

    def test_throttling_is_retried(self, capsys: pytest.CaptureFixture[str]) -> None:
        create("pg-1")
        emulator.inject_fault("ModifyDBInstance", code="Throttling", count=4)
        code, report, _ = rotate(capsys, "--to", TARGET, "--apply", "--yes")
        assert code == 0
        assert writes() == ["ModifyDBInstance"] * 5  # 4 throttled, then done (adaptive mode, 10 attempts)
        assert report["outcomes"]["applied"] == 1


class TestIamActions:
    def test_the_rds_calls_are_the_declared_actions(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every RDS operation of a plan is a declared read action, every one of an apply's writes a declared
        write action (the member-account role is built from these lists)."""
        mixed_fleet()
        arn = create("mysql-1", engine="mysql", version="8.0.36", ca="rds-ca-rsa4096-g1")
        emulator.add_pending_maintenance_action(ACCOUNT, HOME, arn)
        emulator.reset_calls()
        rotate(capsys)  # the target: the default for new launches, which mysql-1's pending action rotates to
        rotate(capsys, "--no-restart", "--to", TARGET)  # reads the parameter groups: does one force TLS?
        reads = {f"rds:{call.action}" for call in emulator.calls()}
        assert reads == {a for a in rotate_fleet.READ_ACTIONS if a.startswith("rds:")}
        emulator.reset_calls()
        rotate(capsys, "--apply", "--yes")
        rotate(capsys, "--apply", "--yes", "--to", TARGET)
        called = {f"rds:{call.action}" for call in emulator.calls()}
        assert called - reads == set(rotate_fleet.WRITE_ACTIONS)


class TestConfirmation:
    def test_apply_without_a_terminal_needs_yes_and_reads_nothing(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        create("pg-1")
        monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # piped "yes" is not a confirmation
        emulator.reset_calls()
        with pytest.raises(SystemExit) as exit_:
            cli.main(["rotate", "--regions", HOME, "--to", TARGET, "--apply"])
        assert exit_.value.code == 2
        assert "--apply without a terminal to confirm on: add --yes" in capsys.readouterr().err
        assert emulator.calls() == []

    def test_apply_refused_without_a_terminal_still_writes_the_report_saying_nothing_changed(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        create("pg-1")
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        emulator.reset_calls()
        report_file = tmp_path / "report.json"
        with pytest.raises(SystemExit) as exit_:
            cli.main(["rotate", "--regions", HOME, "--to", TARGET, "--apply", "--report", str(report_file)])
        assert exit_.value.code == 2
        assert f"nothing was changed (the report in {report_file} says so)" in capsys.readouterr().err
        assert emulator.calls() == []
        report = json.loads(report_file.read_text())
        assert report["refused"].startswith("--apply without a terminal to confirm on: add --yes")
        assert report["refused"].endswith("(nothing was read or changed)")
        assert (report["apply"], report["confirmed"], report["items"]) == (True, False, [])

    @pytest.mark.parametrize("answer", ["no\n", "\n", "y\n", ""])
    def test_anything_but_yes_changes_nothing(
        self,
        answer: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        create("pg-1")
        monkeypatch.setattr(sys, "stdin", Terminal(answer))
        emulator.reset_calls()
        report_file = tmp_path / "report.json"
        code = cli.main(
            ["rotate", "--regions", HOME, "--to", TARGET, "--apply", "--report", str(report_file)]
        )
        err = capsys.readouterr().err
        assert code == 1
        assert "1 database(s) to rotate (0 restart(s)) in 1 account(s), 1 region(s); 0 skipped." in err
        assert err.count("database(s) to rotate") == 1, "the summary once: as the question"
        assert "not confirmed: nothing changed" in err
        assert writes() == []
        report = json.loads(report_file.read_text())
        assert (report["confirmed"], report["outcomes"]["planned"]) == (False, 1)

    def test_yes_on_the_terminal_applies(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        create("pg-1")
        monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
        code, report, _ = rotate(capsys, "--to", TARGET, "--apply")
        assert (code, report["confirmed"], writes()) == (0, True, ["ModifyDBInstance"])

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--yes"], "--yes needs --apply"),
            (["--max-concurrent", "0"], "--max-concurrent must be 1 or more"),
            (["--when", "later"], "argument --when: invalid choice: 'later'"),
            (["--report", "/nonexistent/dir/r.json"], "--report /nonexistent/dir/r.json: its directory"),
            (["--ou", "ou-abcd-12345678"], "need --role-name"),
        ],
    )
    def test_bad_input_is_refused_before_anything_is_read(
        self, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.reset_calls()
        with pytest.raises(SystemExit) as exit_:
            cli.main(["rotate", "--regions", HOME, *args])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
        assert emulator.calls() == []


_ctrl_c = threading.Event()


class _InterruptingBar:
    """tqdm stand-in: Ctrl-C arrives while the first change's result is counted."""

    def __init__(self, *args: Any, unit: str = "", **kwargs: Any) -> None:
        self.unit = unit

    def __enter__(self) -> _InterruptingBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        if self.unit == "db":
            _ctrl_c.set()
            raise KeyboardInterrupt


class TestInterrupted:
    def test_ctrl_c_during_apply_leaves_a_true_report(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        for name in ("pg-1", "pg-2", "pg-3", "pg-4"):
            create(name)
        monkeypatch.setattr(cli, "tqdm", _InterruptingBar)
        _ctrl_c.clear()
        real_send = rotate_fleet.send
        sent: list[str] = []

        def send_after_the_first_only_once_interrupted(
            clients: aws.Clients, item: Item, options: Options
        ) -> Item:
            if sent:  # a change already in flight when Ctrl-C comes still completes, and is reported
                assert _ctrl_c.wait(timeout=10)
            sent.append(item.identifier)
            return real_send(clients, item, options)

        monkeypatch.setattr(rotate_fleet, "send", send_after_the_first_only_once_interrupted)
        report_file = tmp_path / "report.json"
        code = cli.main(
            [
                "rotate", "--regions", HOME, "--to", TARGET, "--apply", "--yes", "--when", "immediately",
                "--max-concurrent", "1", "--concurrency", "1", "--report", str(report_file),
            ]
        )  # fmt: skip
        assert code == 130
        assert "interrupted" in capsys.readouterr().err
        report = json.loads(report_file.read_text())
        assert report["interrupted"] is True
        outcomes = {item["identifier"]: item["outcome"] for item in report["items"]}
        # What the report says was applied is exactly what changed; what it says was not started did not.
        changed = {name for name in outcomes if ca_of(name)[0] == TARGET}
        assert changed == {name for name, outcome in outcomes.items() if outcome == "applied"}
        # one change in flight at a time; Ctrl-C came with the first result: the first, perhaps the second
        # (already in flight), and never the others
        assert changed == set(sent)
        assert 1 <= len(changed) <= 2
        assert set(outcomes.values()) == {"applied", "not-started"}
        assert len(writes()) == len(changed)

    def test_ctrl_c_while_planning_changes_nothing_and_writes_the_report(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        create("pg-1")

        class InterruptedWhilePlanning(_InterruptingBar):
            def update(self, n: int = 1) -> None:
                if self.unit == "region":
                    raise KeyboardInterrupt

        monkeypatch.setattr(cli, "tqdm", InterruptedWhilePlanning)
        report_file = tmp_path / "report.json"
        args = ["rotate", "--regions", HOME, "--to", TARGET, "--apply", "--yes", "--report", str(report_file)]
        assert cli.main(args) == 130
        report = json.loads(report_file.read_text())
        assert (report["interrupted"], report["items"], writes()) == (True, [], [])

    def test_ctrl_c_at_the_prompt_changes_nothing_and_writes_the_report(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        create("pg-1")

        def interrupted(_question: str) -> bool:
            raise KeyboardInterrupt

        monkeypatch.setattr(sys, "stdin", Terminal(""))
        monkeypatch.setattr(cli, "confirm", interrupted)
        report_file = tmp_path / "report.json"
        code = cli.main(
            ["rotate", "--regions", HOME, "--to", TARGET, "--apply", "--report", str(report_file)]
        )
        assert code == 130
        report = json.loads(report_file.read_text())
        assert (report["interrupted"], report["outcomes"]["planned"], writes()) == (True, 1, [])


class TestConcurrency:
    def test_max_concurrent_bounds_the_changes_in_flight_per_account_region(self) -> None:
        """A sender that waits until two changes are in flight together: proves two run at once, and counts
        that never more than two do (no sleeps: a barrier)."""
        items = [
            Item(
                account=account,
                region=region,
                kind=rotation.Kind.INSTANCE,
                identifier=f"db-{n}",
                arn="",
                engine="postgres",
                engine_version="16.3",
                certificate=OLD,
                target=TARGET,
                action=rotation.Action.MODIFY_INSTANCE,
            )
            for account in ("111111111111", "222222222222")
            for region in ("eu-west-1", "us-east-1")
            for n in range(6)
        ]
        lock = threading.Lock()
        in_flight: dict[tuple[str, str], int] = {}
        most: dict[tuple[str, str], int] = {}
        barriers = {(i.account, i.region): threading.Barrier(2, timeout=10) for i in items}

        def sender(_clients: aws.Clients, item: Item, _options: Options) -> Item:
            key = (item.account, item.region)
            with lock:
                in_flight[key] = in_flight.get(key, 0) + 1
                most[key] = max(most.get(key, 0), in_flight[key])
            barriers[
                key
            ].wait()  # breaks (BrokenBarrierError) unless a second change of the region is in flight
            with lock:
                in_flight[key] -= 1
            return rotation.with_outcome(item, Outcome.APPLIED)

        done, interrupted = rotate_fleet.apply_plan(
            None,  # type: ignore[arg-type]  # the sender makes no call
            items,
            Options(),
            max_concurrent=2,
            concurrency=4,
            sender=sender,
        )
        assert not interrupted
        assert {item.outcome for item in done} == {Outcome.APPLIED}
        assert most == dict.fromkeys(barriers, 2)
