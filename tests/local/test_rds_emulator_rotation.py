"""The RDS emulator's CA rotation parts (rds_emulator/rotation.py): pending maintenance actions, the CA as
ModifyDBInstance / ModifyDBCluster change it, Multi-AZ DB clusters with a CA, engine version facts, instance
states, and the gauge of concurrent writes. Each API test runs in-process (mock_aws) and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from rds_override_local import rds_emulator as emulator
from rds_override_local.rds_emulator import DEFAULT_ACCOUNT_ID

EU = "eu-west-1"
OLD = "rds-ca-rsa2048-g1"
NEW = "rds-ca-rsa4096-g1"
FORCED = datetime(2027, 1, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.install()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": EU,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["mock_aws", "server"])
def rds(request: pytest.FixtureRequest, aws_env: None) -> Iterator[Any]:
    config = Config(retries={"total_max_attempts": 1})
    if request.param == "mock_aws":
        with mock_aws():
            yield boto3.client("rds", region_name=EU, config=config)
        return
    url = request.getfixturevalue("moto_server")
    requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()
    yield boto3.client("rds", region_name=EU, endpoint_url=url, config=config)
    requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()


def create(rds: Any, identifier: str = "pg-1", engine: str = "postgres", version: str = "16.3") -> str:
    return str(
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            EngineVersion=version,
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password123",
            CACertificateIdentifier=OLD,
        )["DBInstance"]["DBInstanceArn"]
    )


def instance(rds: Any, identifier: str = "pg-1") -> dict[str, Any]:
    found: dict[str, Any] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    return found


def code_of(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"]


class TestPendingMaintenanceActions:
    def test_none_until_arranged_then_listed(self, rds: Any) -> None:
        arn = create(rds)
        assert rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"] == []
        emulator.add_pending_maintenance_action(DEFAULT_ACCOUNT_ID, EU, arn, forced_apply=FORCED)
        listed = rds.describe_pending_maintenance_actions(ResourceIdentifier=arn)["PendingMaintenanceActions"]
        assert listed == [
            {
                "ResourceIdentifier": arn,
                "PendingMaintenanceActionDetails": [
                    {
                        "Action": "ca-certificate-rotation",
                        "Description": "CA certificate rotation",
                        "ForcedApplyDate": FORCED,
                    }
                ],
            }
        ]

    def test_next_maintenance_opts_in_and_undo_opts_out(self, rds: Any) -> None:
        arn = create(rds)
        emulator.add_pending_maintenance_action(DEFAULT_ACCOUNT_ID, EU, arn)
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="next-maintenance"
        )
        details = rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"][0]
        assert details["PendingMaintenanceActionDetails"][0]["OptInStatus"] == "next-maintenance"
        assert instance(rds)["CACertificateIdentifier"] == OLD  # the window never comes here
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="undo-opt-in"
        )
        details = rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"][0]
        assert "OptInStatus" not in details["PendingMaintenanceActionDetails"][0]

    def test_immediate_rotates_to_the_default_for_new_launches_and_drops_the_action(self, rds: Any) -> None:
        emulator.set_override(DEFAULT_ACCOUNT_ID, EU, NEW)
        arn = create(rds)
        emulator.add_pending_maintenance_action(DEFAULT_ACCOUNT_ID, EU, arn)
        rds.apply_pending_maintenance_action(
            ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="immediate"
        )
        assert instance(rds)["CACertificateIdentifier"] == NEW
        assert rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"] == []

    def test_an_unknown_action_is_not_found(self, rds: Any) -> None:
        arn = create(rds)
        with pytest.raises(ClientError) as error:
            rds.apply_pending_maintenance_action(
                ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation", OptInType="immediate"
            )
        assert code_of(error) == ("ResourceNotFoundFault", 404)


class TestModifyTheCa:
    def test_not_immediately_the_ca_is_pending(self, rds: Any) -> None:
        create(rds)
        answer = rds.modify_db_instance(DBInstanceIdentifier="pg-1", CACertificateIdentifier=NEW)[
            "DBInstance"
        ]
        assert (answer["CACertificateIdentifier"], answer["PendingModifiedValues"]) == (
            OLD,
            {"CACertificateIdentifier": NEW},
        )

    def test_immediately_it_changes_and_a_rotation_action_goes(self, rds: Any) -> None:
        arn = create(rds)
        emulator.add_pending_maintenance_action(DEFAULT_ACCOUNT_ID, EU, arn)
        rds.modify_db_instance(
            DBInstanceIdentifier="pg-1", CACertificateIdentifier=NEW, ApplyImmediately=True
        )
        assert instance(rds)["CACertificateIdentifier"] == NEW
        assert "PendingModifiedValues" not in instance(rds) or not instance(rds)["PendingModifiedValues"]
        assert rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"] == []

    @pytest.mark.parametrize(
        ("ca", "restart"),
        [
            ("rds-ca-ecc384-g1", None),  # a CA SQL Server does not accept
            (NEW, False),  # SQL Server cannot rotate without a restart
        ],
    )
    def test_what_rds_refuses(self, rds: Any, ca: str, restart: bool | None) -> None:
        create(rds, "db-1", "sqlserver-se", "15.00.4415.2.v1")
        extra = {} if restart is None else {"CertificateRotationRestart": restart}
        with pytest.raises(ClientError) as error:
            rds.modify_db_instance(DBInstanceIdentifier="db-1", CACertificateIdentifier=ca, **extra)
        assert code_of(error)[0] == "InvalidParameterCombination"
        assert instance(rds, "db-1")["CACertificateIdentifier"] == OLD

    def test_a_stopped_or_modifying_instance_is_refused(self, rds: Any) -> None:
        create(rds)
        emulator.set_instance_status(DEFAULT_ACCOUNT_ID, EU, "pg-1", "modifying")
        assert instance(rds)["DBInstanceStatus"] == "modifying"
        with pytest.raises(ClientError) as error:
            rds.modify_db_instance(DBInstanceIdentifier="pg-1", CACertificateIdentifier=NEW)
        assert code_of(error)[0] == "InvalidDBInstanceState"

    def test_a_restricted_engine_version(self, rds: Any) -> None:
        create(rds, "maria-1", "mariadb", "10.6.10")
        emulator.restrict_engine_version(DEFAULT_ACCOUNT_ID, EU, "mariadb", "10.6.10", [OLD])
        version = rds.describe_db_engine_versions(Engine="mariadb", EngineVersion="10.6.10")[
            "DBEngineVersions"
        ][0]
        assert version["SupportedCACertificateIdentifiers"] == [OLD]
        with pytest.raises(ClientError):
            rds.modify_db_instance(DBInstanceIdentifier="maria-1", CACertificateIdentifier=NEW)


class TestMultiAzCluster:
    def test_its_ca_is_the_default_for_new_launches_and_modify_changes_it(self, rds: Any) -> None:
        cluster = rds.create_db_cluster(
            DBClusterIdentifier="maz-1",
            Engine="postgres",
            DBClusterInstanceClass="db.m6gd.large",
            MasterUsername="admin",
            MasterUserPassword="password123",
            AllocatedStorage=100,
            StorageType="io1",
            Iops=1000,
        )["DBCluster"]
        assert cluster["CertificateDetails"]["CAIdentifier"] == OLD
        pending = rds.modify_db_cluster(DBClusterIdentifier="maz-1", CACertificateIdentifier=NEW)["DBCluster"]
        assert pending["PendingModifiedValues"] == {"CertificateDetails": {"CAIdentifier": NEW}}
        rds.modify_db_cluster(DBClusterIdentifier="maz-1", CACertificateIdentifier=NEW, ApplyImmediately=True)
        described = rds.describe_db_clusters(DBClusterIdentifier="maz-1")["DBClusters"][0]
        assert described["CertificateDetails"]["CAIdentifier"] == NEW
        assert not described.get("PendingModifiedValues")

    def test_an_aurora_cluster_has_no_ca_of_its_own(self, rds: Any) -> None:
        cluster = rds.create_db_cluster(
            DBClusterIdentifier="aurora-1",
            Engine="aurora-postgresql",
            MasterUsername="a",
            MasterUserPassword="password123",
        )["DBCluster"]
        assert "CertificateDetails" not in cluster


def test_engine_versions_say_whether_they_rotate_without_restart(rds: Any) -> None:
    answer = {
        v["Engine"]: v["SupportsCertificateRotationWithoutRestart"]
        for engine in ("postgres", "mysql", "sqlserver-se")
        for v in rds.describe_db_engine_versions(Engine=engine)["DBEngineVersions"]
    }
    assert answer == {"postgres": True, "mysql": True, "sqlserver-se": False}


def test_the_gauge_counts_writes_in_flight_per_account_region(rds: Any) -> None:
    create(rds, "pg-1")
    rds.modify_db_instance(DBInstanceIdentifier="pg-1", CACertificateIdentifier=NEW)
    rds.describe_db_instances()
    assert emulator.max_in_flight() == {(DEFAULT_ACCOUNT_ID, EU): 1}


def test_arranged_engine_versions_are_listed_and_paged(rds: Any) -> None:
    for patch in range(30):
        emulator.add_engine_version(DEFAULT_ACCOUNT_ID, EU, "docdb", f"5.0.{patch}")
    emulator.add_engine_version(DEFAULT_ACCOUNT_ID, EU, "docdb", "4.0.0", ["rds-ca-rsa2048-g1"])
    first = rds.describe_db_engine_versions(Engine="docdb", MaxRecords=20)
    assert len(first["DBEngineVersions"]) == 20
    rest = rds.describe_db_engine_versions(Engine="docdb", MaxRecords=20, Marker=first["Marker"])
    assert "Marker" not in rest
    listed = [v["EngineVersion"] for v in first["DBEngineVersions"] + rest["DBEngineVersions"]]
    assert listed == [f"5.0.{patch}" for patch in range(30)] + ["4.0.0"]
    assert rest["DBEngineVersions"][-1]["SupportedCACertificateIdentifiers"] == ["rds-ca-rsa2048-g1"]
    paged = [
        v["Engine"]
        for page in rds.get_paginator("describe_db_engine_versions").paginate(
            PaginationConfig={"PageSize": 20}
        )
        for v in page["DBEngineVersions"]
    ]
    assert paged.count("docdb") == 31
    assert "postgres" in paged
