"""The rotation planner's decisions (rds_override_tools.rotation): plain data in, plan items out; no AWS."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from rds_override_tools import rotation
from rds_override_tools.rotation import (
    Action,
    Database,
    EngineFacts,
    Item,
    Kind,
    MaintenanceAction,
    Options,
    Outcome,
    RegionError,
    Report,
    When,
)

OLD = "rds-ca-rsa2048-g1"
NEW = "rds-ca-rsa4096-g1"
ACCOUNT = "111111111111"
REGION = "eu-west-1"
CAN = EngineFacts((OLD, NEW), rotates_without_restart=True)
RESTARTS = EngineFacts((OLD, NEW), rotates_without_restart=False)
NO_NEW = EngineFacts((OLD,), rotates_without_restart=True)
DEFAULT = Options()


def db(identifier: str = "db-1", **changes: object) -> Database:
    base = Database(
        kind=Kind.INSTANCE,
        identifier=identifier,
        arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{identifier}",
        engine="postgres",
        engine_version="16.3",
        certificate=OLD,
        status="available",
        maintenance_window="sun:05:00-sun:05:30",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def plan(
    *databases: Database,
    facts: EngineFacts = CAN,
    maintenance: dict[str, MaintenanceAction] | None = None,
    proxies: tuple[str, ...] = (),
    options: Options = DEFAULT,
    proposed: str | None = None,
) -> list[Item]:
    return rotation.plan_region(
        ACCOUNT,
        REGION,
        target=NEW,
        proposed=proposed,
        databases=databases,
        engines={(d.engine, d.engine_version): facts for d in databases},
        maintenance=maintenance or {},
        proxies=proxies,
        options=options,
    )


def only(items: list[Item]) -> Item:
    assert len(items) == 1, items
    return items[0]


class TestWhatIsPlanned:
    def test_an_instance_on_the_target_is_not_in_the_plan(self) -> None:
        assert plan(db(certificate=NEW)) == []

    def test_an_available_instance_off_the_target_is_modified(self) -> None:
        item = only(plan(db()))
        assert (item.action, item.outcome, item.target, item.certificate) == (
            Action.MODIFY_INSTANCE,
            Outcome.PLANNED,
            NEW,
            OLD,
        )
        assert item.supports_target is True
        assert item.restarts is False
        assert item.when == "next window sun:05:00-sun:05:30"

    def test_restart_follows_the_engine_version(self) -> None:
        assert only(plan(db(), facts=RESTARTS)).restarts is True
        assert only(plan(db(), facts=EngineFacts(None, None))).restarts is None

    def test_immediately(self) -> None:
        assert only(plan(db(), options=Options(when=When.IMMEDIATELY))).when == "immediately"

    def test_a_multi_az_cluster_is_modified_as_a_cluster_and_its_members_are_skipped(self) -> None:
        cluster = db("mc-1", kind=Kind.CLUSTER)
        member = db("mc-1-instance-1", multi_az_cluster="mc-1")
        items = {item.identifier: item for item in plan(cluster, member)}
        assert items["mc-1"].action is Action.MODIFY_CLUSTER
        assert items["mc-1-instance-1"].action is Action.SKIP
        assert "Multi-AZ DB cluster mc-1" in items["mc-1-instance-1"].reason

    def test_an_aurora_instance_is_planned_on_its_own(self) -> None:
        # Aurora clusters are not Multi-AZ DB clusters: their instances carry the CA, modified one by one.
        item = only(plan(db("aurora-1", engine="aurora-postgresql")))
        assert item.action is Action.MODIFY_INSTANCE

    def test_a_proposed_maintenance_action_is_applied_when_the_target_is_what_rds_proposes(self) -> None:
        database = db()
        action = MaintenanceAction(database.arn, forced_apply=datetime(2027, 1, 5, tzinfo=UTC))
        item = only(plan(database, maintenance={database.arn: action}, proposed=NEW))
        assert item.action is Action.APPLY_PENDING
        assert item.when.endswith("; forced 2027-01-05")

    def test_a_proposed_maintenance_action_for_another_ca_is_not_used(self) -> None:
        database = db()
        item = only(plan(database, maintenance={database.arn: MaintenanceAction(database.arn)}, proposed=OLD))
        assert item.action is Action.MODIFY_INSTANCE


class TestWhatIsSkipped:
    @pytest.mark.parametrize(
        ("database", "facts", "options", "reason"),
        [
            (db(status="stopped"), CAN, Options(), "status stopped"),
            (db(status="modifying"), CAN, Options(), "status modifying"),
            (db(read_replica_source="db-0"), CAN, Options(), "read replica of db-0"),
            (db(engine="sqlserver-se"), NO_NEW, Options(), "sqlserver-se 16.3 does not support"),
            (db(), RESTARTS, Options(no_restart=True), "restarts to rotate (--no-restart)"),
            (db(), EngineFacts((NEW,), None), Options(no_restart=True), "restarts to rotate"),
            (db(engine="docdb"), CAN, Options(), "Amazon DocumentDB shares the RDS API"),
            (db(engine="neptune", kind=Kind.CLUSTER), CAN, Options(), "Amazon Neptune shares the RDS API"),
        ],
    )
    def test_skipped_with_a_reason(
        self, database: Database, facts: EngineFacts, options: Options, reason: str
    ) -> None:
        item = only(plan(database, facts=facts, options=options))
        assert item.action is Action.SKIP
        assert item.outcome is Outcome.SKIPPED
        assert reason in item.reason
        assert item.when == ""
        with pytest.raises(ValueError, match="never sent"):
            rotation.request(item, options)

    def test_unsupported_engine_says_so(self) -> None:
        assert only(plan(db(), facts=NO_NEW)).supports_target is False

    @pytest.mark.parametrize("opt_in", ["immediate", "next-maintenance"])
    def test_an_opted_in_maintenance_action_is_already_scheduled(self, opt_in: str) -> None:
        database = db()
        action = MaintenanceAction(database.arn, opt_in_status=opt_in)
        item = only(plan(database, maintenance={database.arn: action}, proposed=NEW))
        assert (item.action, item.outcome, item.reason) == (
            Action.SKIP,
            Outcome.SCHEDULED,
            "already scheduled",
        )

    def test_a_pending_modification_to_the_target_is_already_scheduled(self) -> None:
        assert only(plan(db(pending_certificate=NEW))).outcome is Outcome.SCHEDULED

    def test_a_pending_modification_to_another_ca_is_not(self) -> None:
        assert only(plan(db(pending_certificate=OLD))).outcome is Outcome.PLANNED

    def test_a_proxy_is_listed_and_left_to_acm(self) -> None:
        item = only(plan(proxies=("proxy-1",)))
        assert (item.kind, item.action) == (Kind.PROXY, Action.SKIP)
        assert "ACM" in item.reason


class TestRequests:
    def test_modify_instance_next_window(self) -> None:
        item = only(plan(db()))
        assert rotation.request(item, Options()) == (
            "modify_db_instance",
            {"DBInstanceIdentifier": "db-1", "CACertificateIdentifier": NEW, "ApplyImmediately": False},
        )

    def test_no_restart_only_where_the_engine_supports_it(self) -> None:
        options = Options(when=When.IMMEDIATELY, no_restart=True)
        item = only(plan(db(), options=options))
        assert rotation.request(item, options)[1] == {
            "DBInstanceIdentifier": "db-1",
            "CACertificateIdentifier": NEW,
            "ApplyImmediately": True,
            "CertificateRotationRestart": False,
        }
        # without --no-restart the parameter is never sent (RDS's default: restart)
        assert "CertificateRotationRestart" not in rotation.request(only(plan(db())), Options())[1]

    def test_modify_cluster(self) -> None:
        item = only(plan(db("mc-1", kind=Kind.CLUSTER)))
        assert rotation.request(item, Options(when=When.IMMEDIATELY)) == (
            "modify_db_cluster",
            {"DBClusterIdentifier": "mc-1", "CACertificateIdentifier": NEW, "ApplyImmediately": True},
        )

    @pytest.mark.parametrize(
        ("when", "opt_in"),
        [(When.IMMEDIATELY, "immediate"), (When.NEXT_MAINTENANCE_WINDOW, "next-maintenance")],
    )
    def test_apply_pending(self, when: When, opt_in: str) -> None:
        database = db()
        item = only(plan(database, maintenance={database.arn: MaintenanceAction(database.arn)}, proposed=NEW))
        assert rotation.request(item, Options(when=when)) == (
            "apply_pending_maintenance_action",
            {
                "ResourceIdentifier": database.arn,
                "ApplyAction": "ca-certificate-rotation",
                "OptInType": opt_in,
            },
        )


class TestTarget:
    def test_to_wins_when_the_region_has_it(self) -> None:
        assert rotation.choose_target(NEW, [OLD], OLD, [OLD, NEW]) == (NEW, "")

    def test_to_unknown_in_the_region(self) -> None:
        target, why = rotation.choose_target("rds-ca-nope", [], OLD, [OLD, NEW])
        assert target is None
        assert "--to rds-ca-nope" in why

    def test_the_declared_ca_else_the_default(self) -> None:
        assert rotation.choose_target(None, [NEW, NEW], OLD, [OLD, NEW]) == (NEW, "")
        assert rotation.choose_target(None, [], OLD, [OLD, NEW]) == (OLD, "")

    def test_declarations_that_disagree_leave_the_region_alone(self) -> None:
        target, why = rotation.choose_target(None, [NEW, OLD], OLD, [OLD, NEW])
        assert target is None
        assert "disagree" in why


class TestCountsAndExit:
    def test_counts_for_the_confirmation(self) -> None:
        items = plan(db("a"), db("b", status="stopped"), facts=RESTARTS)
        items += rotation.plan_region(
            "222222222222",
            "us-east-1",
            target=NEW,
            proposed=None,
            databases=[db("c")],
            engines={},
            maintenance={},
        )
        counts = rotation.counts(items)
        assert (counts.databases, counts.restarts, counts.accounts, counts.regions, counts.skipped) == (
            2,
            2,  # one restarts, one whose engine does not say (counted: RDS restarts unless told otherwise)
            2,
            2,
            1,
        )
        assert counts.sentence() == (
            "2 database(s) to rotate (2 restart(s)) in 2 account(s), 2 region(s); 1 skipped"
        )

    def test_exit_codes(self) -> None:
        planned = only(plan(db()))
        report = Report(target=None, options=Options(), apply=False, items=[planned])
        assert rotation.exit_code(report) == 1
        report.items = [rotation.with_outcome(planned, Outcome.APPLIED)]
        assert rotation.exit_code(report) == 0
        report.items += plan(proxies=("proxy-1",)) + plan(db("s", pending_certificate=NEW))
        assert rotation.exit_code(report) == 0  # proxies and already scheduled ones are not left to do
        report.items += plan(db("stopped", status="stopped"))
        assert rotation.exit_code(report) == 1
        report.items += [rotation.with_outcome(planned, Outcome.FAILED, "Throttling")]
        assert rotation.exit_code(report) == 2
        assert rotation.exit_code(Report(None, Options(), False, errors=[RegionError("a", "b", "c")])) == 2
        assert rotation.exit_code(Report(None, Options(), False)) == 0

    def test_report_json_and_table(self) -> None:
        items = plan(db(), db("stopped", status="stopped"), proxies=("proxy-1",))
        report = Report(target=NEW, options=Options(), apply=False, items=items)
        document = json.loads(rotation.report_json(report, datetime(2026, 11, 29, tzinfo=UTC)))
        assert document["generated_at"] == "2026-11-29T00:00:00Z"
        assert document["counts"] == {
            "databases": 1,
            "restarts": 0,
            "accounts": 1,
            "regions": 1,
            "skipped": 2,
            "scheduled": 0,
        }
        assert [i["outcome"] for i in document["items"]] == ["planned", "skipped", "skipped"]
        table = rotation.report_table(report)
        lines = table.splitlines()
        assert lines[0].split() == [
            "ACCOUNT",
            "REGION",
            "DATABASE",
            "ENGINE",
            "CA",
            "TO",
            "RESTART",
            "ACTION",
            "WHEN",
            "/",
            "REASON",
        ]
        assert lines[1].split()[-4:] == ["modify", "next", "window", "sun:05:00-sun:05:30"]
        assert "proxy-1 (proxy)" in lines[3]
        assert lines[-1] == "1 database(s) to rotate (0 restart(s)) in 1 account(s), 1 region(s); 2 skipped"
        assert max(len(line) for line in lines) <= 160


class TestReading:
    def test_multi_az_cluster_detection(self) -> None:
        assert rotation.is_multi_az_cluster({"Engine": "postgres", "DBClusterInstanceClass": "db.m6gd.large"})
        assert not rotation.is_multi_az_cluster({"Engine": "aurora-mysql", "DBClusterInstanceClass": "x"})
        assert not rotation.is_multi_az_cluster({"Engine": "aurora-postgresql"})

    def test_instance_fields(self) -> None:
        database = rotation.read_db_instance(
            {
                "DBInstanceIdentifier": "db-1",
                "DBInstanceArn": "arn:db-1",
                "Engine": "mysql",
                "EngineVersion": "8.0.36",
                "CACertificateIdentifier": OLD,
                "DBInstanceStatus": "available",
                "PendingModifiedValues": {"CACertificateIdentifier": NEW},
                "ReadReplicaSourceDBInstanceIdentifier": "db-0",
                "DBClusterIdentifier": "mc-1",
            },
            {"mc-1"},
        )
        assert (database.pending_certificate, database.read_replica_source, database.multi_az_cluster) == (
            NEW,
            "db-0",
            "mc-1",
        )

    def test_only_rotation_maintenance_actions_count(self) -> None:
        actions = rotation.read_maintenance_actions(
            [
                {
                    "ResourceIdentifier": "arn:db-1",
                    "PendingMaintenanceActionDetails": [
                        {"Action": "system-update"},
                        {"Action": "ca-certificate-rotation", "OptInStatus": "next-maintenance"},
                    ],
                },
                {
                    "ResourceIdentifier": "arn:db-2",
                    "PendingMaintenanceActionDetails": [{"Action": "db-upgrade"}],
                },
            ]
        )
        assert list(actions) == ["arn:db-1"]
        assert actions["arn:db-1"].scheduled
