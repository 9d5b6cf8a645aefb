"""Tests of the RDS certificates emulator (rds_override_local.rds_emulator).

Every API test runs twice: in-process under ``moto.mock_aws()`` and over HTTP against a
``ThreadedMotoServer`` on 127.0.0.1 in this process, so botocore's real serializers, HTTP stack
and parsers meet the emulator both ways.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from moto.rds.responses import RDSResponse
from moto.server import ThreadedMotoServer

from rds_override_local import rds_emulator as emulator
from rds_override_local.rds_emulator import DEFAULT_ACCOUNT_ID

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

US = "us-east-1"
EU = "eu-west-1"
OTHER_ACCOUNT = "111111111111"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Expected catalog, newest ValidFrom first (the order of the AWS CLI example).
CATALOG = [
    ("rds-ca-ecc384-g1", utc("2021-05-24T22:06:59"), utc("2121-05-24T23:06:59")),
    ("rds-ca-rsa4096-g1", utc("2021-05-24T22:03:20"), utc("2121-05-24T23:03:20")),
    ("rds-ca-rsa2048-g1", utc("2021-05-24T21:59:00"), utc("2061-05-24T22:59:00")),
    ("rds-ca-2019", utc("2019-08-22T17:08:50"), utc("2024-08-22T17:08:50")),
]


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    emulator.install()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, no profile or config file, no proxy for 127.0.0.1, default retries."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", US)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "MOTO_ACCOUNT_ID", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def boto_session() -> boto3.session.Session:
    """One session for the module: a fresh one per test (mock_aws resets boto3's default) reloads
    the RDS model every time, which made the in-process tests five times slower."""
    return boto3.session.Session()


@dataclass
class Rds:
    """How a test reaches the emulator: ``mode`` is "mock_aws" or "server"."""

    mode: str
    endpoint_url: str | None
    session: boto3.session.Session

    def client(self, region: str = US, *, retries: bool = False, **config: Any) -> RDSClient:
        """An RDS client; without ``retries``, a single attempt so injected faults surface at once."""
        if not retries:
            config["retries"] = {"total_max_attempts": 1}
        return self.session.client(
            "rds", region_name=region, endpoint_url=self.endpoint_url, config=Config(**config)
        )


def reset_server(url: str) -> None:
    requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()


@pytest.fixture(params=["mock_aws", "server"])
def rds(request: pytest.FixtureRequest, aws_env: None, boto_session: boto3.session.Session) -> Iterator[Rds]:
    if request.param == "mock_aws":
        with mock_aws():
            yield Rds("mock_aws", None, boto_session)
        return
    url = request.getfixturevalue("moto_server")
    reset_server(url)
    yield Rds("server", url, boto_session)
    reset_server(url)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------------------------------
# DescribeCertificates
# --------------------------------------------------------------------------------------------------


def test_describe_lists_the_catalog(rds: Rds) -> None:
    answer = rds.client().describe_certificates()

    assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert "Marker" not in answer
    certificates = answer["Certificates"]
    assert [(c["CertificateIdentifier"], c["ValidFrom"], c["ValidTill"]) for c in certificates] == CATALOG
    for certificate in certificates:
        assert certificate["CertificateType"] == "CA"
        assert (
            certificate["CertificateArn"] == f"arn:aws:rds:{US}::cert:{certificate['CertificateIdentifier']}"
        )
        assert re.fullmatch(r"[0-9a-f]{40}", certificate["Thumbprint"])
        assert certificate["CustomerOverride"] is False
        assert "CustomerOverrideValidTill" not in certificate


def test_describe_one_certificate_ignores_case(rds: Rds) -> None:
    answer = rds.client(EU).describe_certificates(CertificateIdentifier="RDS-CA-2019")

    [certificate] = answer["Certificates"]
    assert certificate["CertificateIdentifier"] == "rds-ca-2019"
    assert certificate["CertificateArn"] == f"arn:aws:rds:{EU}::cert:rds-ca-2019"
    assert certificate["ValidTill"] == utc("2024-08-22T17:08:50")
    assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"


def test_describe_ignores_filters(rds: Rds) -> None:
    answer = rds.client().describe_certificates(Filters=[{"Name": "anything", "Values": ["x"]}])

    assert len(answer["Certificates"]) == 4


@pytest.mark.parametrize("max_records", [19, 101])
def test_describe_rejects_max_records_out_of_range(rds: Rds, max_records: int) -> None:
    with pytest.raises(ClientError) as excinfo:
        rds.client().describe_certificates(MaxRecords=max_records)

    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def test_describe_paginates(rds: Rds) -> None:
    for n in range(17):  # 4 + 17 = 21 certificates, one more than the smallest page
        emulator.add_certificate(
            DEFAULT_ACCOUNT_ID,
            US,
            f"rds-ca-test-{n:02d}",
            valid_from=utc("2020-01-01T00:00:00"),
            valid_till=utc("2030-01-01T00:00:00"),
        )
    client = rds.client()

    first = client.describe_certificates(MaxRecords=20)
    second = client.describe_certificates(MaxRecords=20, Marker=first["Marker"])
    pages = list(client.get_paginator("describe_certificates").paginate(PaginationConfig={"PageSize": 20}))

    assert len(first["Certificates"]) == 20
    assert [c["CertificateIdentifier"] for c in second["Certificates"]] == ["rds-ca-2019"]
    assert "Marker" not in second
    assert [len(p["Certificates"]) for p in pages] == [20, 1]
    with pytest.raises(ClientError) as excinfo:
        client.describe_certificates(Marker="no-such-marker")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def test_unknown_certificate_is_not_found(rds: Rds) -> None:
    client = rds.client()

    for call in (
        lambda: client.describe_certificates(CertificateIdentifier="rds-ca-nope"),
        lambda: client.modify_certificates(CertificateIdentifier="rds-ca-nope"),
    ):
        with pytest.raises(client.exceptions.CertificateNotFoundFault) as excinfo:
            call()
        assert error_of(excinfo) == ("CertificateNotFound", 404)
        assert "rds-ca-nope" in excinfo.value.response["Error"]["Message"]


# --------------------------------------------------------------------------------------------------
# ModifyCertificates
# --------------------------------------------------------------------------------------------------


def test_modify_sets_the_override(rds: Rds) -> None:
    client = rds.client()

    answer = client.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")

    certificate = answer["Certificate"]
    assert certificate["CertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert certificate["CustomerOverride"] is True
    assert certificate["CustomerOverrideValidTill"] == certificate["ValidTill"] == utc("2121-05-24T23:03:20")
    described = client.describe_certificates()
    assert described["DefaultCertificateForNewLaunches"] == "rds-ca-rsa4096-g1"
    overridden = [c["CertificateIdentifier"] for c in described["Certificates"] if c["CustomerOverride"]]
    assert overridden == ["rds-ca-rsa4096-g1"]
    assert [c for c in described["Certificates"] if "CustomerOverrideValidTill" in c] == [certificate]
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) == "rds-ca-rsa4096-g1"


def test_modify_again_moves_the_override(rds: Rds) -> None:
    client = rds.client()
    client.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")

    client.modify_certificates(CertificateIdentifier="RDS-CA-ECC384-G1")

    described = client.describe_certificates()
    assert described["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    assert [c["CertificateIdentifier"] for c in described["Certificates"] if c["CustomerOverride"]] == [
        "rds-ca-ecc384-g1"
    ]


def test_override_is_per_region_and_account(rds: Rds) -> None:
    rds.client(EU).modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")
    emulator.set_override(OTHER_ACCOUNT, US, "rds-ca-2019")

    assert rds.client(US).describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert rds.client(EU).describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) is None
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, EU) == "rds-ca-ecc384-g1"
    assert emulator.current_override(OTHER_ACCOUNT, US) == "rds-ca-2019"


def test_remove_override_returns_the_certificate_that_was_overridden(rds: Rds) -> None:
    client = rds.client()
    client.modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")

    answer = client.modify_certificates(RemoveCustomerOverride=True)

    certificate = answer["Certificate"]
    assert certificate["CertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert certificate["CustomerOverride"] is False
    assert "CustomerOverrideValidTill" not in certificate
    described = client.describe_certificates()
    assert described["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert not any(c["CustomerOverride"] for c in described["Certificates"])
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) is None


def test_remove_without_override_returns_the_system_default(rds: Rds) -> None:
    answer = rds.client().modify_certificates(RemoveCustomerOverride=True)

    assert answer["Certificate"]["CertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert answer["Certificate"]["CustomerOverride"] is False


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"RemoveCustomerOverride": False},
        {"CertificateIdentifier": "rds-ca-rsa4096-g1", "RemoveCustomerOverride": True},
        {"CertificateIdentifier": "rds-ca-rsa4096-g1", "RemoveCustomerOverride": False},
    ],
    ids=["neither", "remove-false", "both", "id-and-remove-false"],
)
def test_modify_needs_exactly_one_parameter(rds: Rds, params: dict[str, Any]) -> None:
    client = rds.client()

    with pytest.raises(ClientError) as excinfo:
        client.modify_certificates(**params)

    assert error_of(excinfo) == ("InvalidParameterCombination", 400)
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) is None


# --------------------------------------------------------------------------------------------------
# DB instances and engine versions (what moto leaves out)
# --------------------------------------------------------------------------------------------------


def create_instance(client: RDSClient, identifier: str, engine: str = "postgres", **extra: Any) -> None:
    client.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine=engine,
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        **extra,
    )


def certificate_details(client: RDSClient) -> dict[str, Any]:
    answer = client.describe_db_instances()["DBInstances"]
    return {
        i["DBInstanceIdentifier"]: (i["CACertificateIdentifier"], i["CertificateDetails"]) for i in answer
    }


def test_a_new_instance_gets_the_default_for_new_launches(rds: Rds) -> None:
    client = rds.client()
    create_instance(client, "before")
    client.modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")
    create_instance(client, "after")
    create_instance(client, "chosen", CACertificateIdentifier="rds-ca-rsa4096-g1")

    assert certificate_details(client) == {
        "before": ("rds-ca-rsa2048-g1", {"CAIdentifier": "rds-ca-rsa2048-g1", "ValidTill": CATALOG[2][2]}),
        "after": ("rds-ca-ecc384-g1", {"CAIdentifier": "rds-ca-ecc384-g1", "ValidTill": CATALOG[0][2]}),
        "chosen": ("rds-ca-rsa4096-g1", {"CAIdentifier": "rds-ca-rsa4096-g1", "ValidTill": CATALOG[1][2]}),
    }


def test_server_certificate_expiry_can_be_arranged(rds: Rds) -> None:
    client = rds.client()
    create_instance(client, "pg-1")
    soon = utc("2026-12-08T00:00:00")

    emulator.set_server_certificate_valid_till(DEFAULT_ACCOUNT_ID, US, "pg-1", soon)

    assert certificate_details(client)["pg-1"][1] == {"CAIdentifier": "rds-ca-rsa2048-g1", "ValidTill": soon}
    with pytest.raises(ValueError, match="no DB instance 'pg-2'"):
        emulator.set_server_certificate_valid_till(DEFAULT_ACCOUNT_ID, US, "pg-2", soon)


def test_engine_versions_list_the_cas_they_accept(rds: Rds) -> None:
    client = rds.client()
    all_cas = [identifier for identifier, _, _ in CATALOG]
    emulator.add_certificate(
        DEFAULT_ACCOUNT_ID,
        US,
        "rds-ca-rsa2048-g1-us-east-1",
        valid_from=utc("2025-01-01"),
        valid_till=utc("2065-01-01"),
    )

    def supported(**params: str) -> list[tuple[str, str, list[str]]]:
        versions = client.describe_db_engine_versions(**params)["DBEngineVersions"]
        return [(v["Engine"], v["EngineVersion"], v["SupportedCACertificateIdentifiers"]) for v in versions]

    assert supported(Engine="postgres", EngineVersion="16.3") == [
        ("postgres", "16.3", ["rds-ca-rsa2048-g1-us-east-1", *all_cas])
    ]
    # SQL Server does not accept the ECC CA: the trap an rds-ca-ecc384-g1 default sets.
    assert supported(Engine="sqlserver-se", EngineVersion="15.00.4415.2.v1") == [
        ("sqlserver-se", "15.00.4415.2.v1", ["rds-ca-rsa2048-g1-us-east-1", *all_cas[1:]])
    ]
    assert supported(Engine="mysql") == [("mysql", "5.6.21", ["rds-ca-rsa2048-g1-us-east-1", *all_cas])]
    assert supported(Engine="no-such-engine") == []
    every_engine = supported()
    assert ("sqlserver-ee", "11.00.2100.60.v1") in [(engine, version) for engine, version, _ in every_engine]
    assert all(engine == engine.lower() for engine, _, _ in every_engine)


# --------------------------------------------------------------------------------------------------
# Test hooks
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 400), ("InternalFailure", 500), ("ServiceUnavailable", 503)]
)
def test_injected_fault_fails_the_next_call_only(rds: Rds, code: str, status: int) -> None:
    client = rds.client()
    emulator.inject_fault("ModifyCertificates", code=code, status=status, message="try later")

    with pytest.raises(ClientError) as excinfo:
        client.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")

    assert error_of(excinfo) == (code, status)
    assert excinfo.value.response["Error"]["Message"] == "try later"
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) is None  # the action did not run
    client.describe_certificates()  # other actions are untouched
    assert client.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")["Certificate"][
        "CustomerOverride"
    ]


def test_injected_fault_count_region_and_clear(rds: Rds) -> None:
    us, eu = rds.client(US), rds.client(EU)
    emulator.inject_fault("DescribeCertificates", count=2, region=EU)
    emulator.inject_fault("ModifyCertificates", code="InternalFailure", status=500, count=None)

    us.describe_certificates()
    for _ in range(2):
        with pytest.raises(ClientError):
            eu.describe_certificates()
    eu.describe_certificates()
    for _ in range(3):
        with pytest.raises(ClientError) as excinfo:
            us.modify_certificates(RemoveCustomerOverride=True)
        assert error_of(excinfo) == ("InternalFailure", 500)
    emulator.clear_faults()
    us.modify_certificates(RemoveCustomerOverride=True)


def test_default_retries_absorb_a_single_throttle(rds: Rds) -> None:
    client = rds.client(retries=True)
    emulator.inject_fault("DescribeCertificates", code="Throttling")

    answer = client.describe_certificates()

    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert emulator.calls() == [(US, "DescribeCertificates")] * 2


def test_injected_delay(rds: Rds) -> None:
    client = rds.client()
    client.describe_certificates()  # warm up
    emulator.inject_delay("DescribeCertificates", 0.3)

    started = time.monotonic()
    client.describe_certificates()
    slow = time.monotonic() - started
    started = time.monotonic()
    client.describe_certificates()
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.3


def test_injected_delay_times_out_a_client_over_http(
    moto_server: str, boto_session: boto3.session.Session
) -> None:
    # Over HTTP only: in-process calls have no socket to time out, the caller just waits.
    reset_server(moto_server)
    client = Rds("server", moto_server, boto_session).client(read_timeout=0.1, connect_timeout=1)
    emulator.inject_delay("ModifyCertificates", 0.4)

    with pytest.raises(ReadTimeoutError):
        client.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")
    reset_server(moto_server)


def test_call_log(rds: Rds) -> None:
    us, eu = rds.client(US), rds.client(EU)
    us.describe_certificates()
    eu.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")
    emulator.inject_fault("DescribeCertificates")
    with pytest.raises(ClientError):
        eu.describe_certificates()

    assert emulator.calls() == [
        (US, "DescribeCertificates"),
        (EU, "ModifyCertificates"),
        (EU, "DescribeCertificates"),
    ]
    assert emulator.calls()[1].region == EU
    assert emulator.calls()[1].action == "ModifyCertificates"
    emulator.reset_calls()
    assert emulator.calls() == []


def test_call_log_is_thread_safe(rds: Rds) -> None:
    clients = [rds.client() for _ in range(8)]
    threads = [threading.Thread(target=c.describe_certificates) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert emulator.calls() == [(US, "DescribeCertificates")] * 8


def test_arranged_state_is_what_the_client_sees(rds: Rds) -> None:
    client = rds.client()
    emulator.set_override(DEFAULT_ACCOUNT_ID, US, "RDS-CA-RSA4096-G1")
    assert client.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa4096-g1"
    assert emulator.current_override(DEFAULT_ACCOUNT_ID, US) == "rds-ca-rsa4096-g1"

    emulator.set_override(DEFAULT_ACCOUNT_ID, US, None)
    emulator.set_system_default(DEFAULT_ACCOUNT_ID, US, "rds-ca-ecc384-g1")
    assert client.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    removed = client.modify_certificates(RemoveCustomerOverride=True)["Certificate"]
    assert removed["CertificateIdentifier"] == "rds-ca-ecc384-g1"

    added = emulator.add_certificate(
        DEFAULT_ACCOUNT_ID,
        EU,
        "rds-ca-rsa2048-g1-eu-west-1",
        valid_from=utc("2024-01-01T00:00:00"),
        valid_till=utc("2064-01-01T00:00:00"),
    )
    assert re.fullmatch(r"[0-9a-f]{40}", added.thumbprint)
    eu_ids = [c["CertificateIdentifier"] for c in rds.client(EU).describe_certificates()["Certificates"]]
    assert eu_ids[0] == "rds-ca-rsa2048-g1-eu-west-1"
    with pytest.raises(client.exceptions.CertificateNotFoundFault):
        client.modify_certificates(CertificateIdentifier="rds-ca-rsa2048-g1-eu-west-1")  # not in us-east-1


# --------------------------------------------------------------------------------------------------
# Module mechanics (no API mode to vary)
# --------------------------------------------------------------------------------------------------


def test_hooks_reject_mistakes() -> None:
    with mock_aws():
        with pytest.raises(ValueError, match="not an RDS action"):
            emulator.inject_fault("ModifyCertificate")
        with pytest.raises(ValueError, match="count"):
            emulator.inject_delay("ModifyCertificates", 1, count=0)
        with pytest.raises(ValueError, match="status"):
            emulator.inject_fault("ModifyCertificates", status=200)
        with pytest.raises(emulator.CertificateNotFoundFault):
            emulator.set_override(DEFAULT_ACCOUNT_ID, US, "rds-ca-nope")


def test_mock_aws_resets_state_and_hooks(boto_session: boto3.session.Session) -> None:
    with mock_aws():
        client = boto_session.client("rds", region_name=US)
        client.modify_certificates(CertificateIdentifier="rds-ca-2019")
        emulator.inject_fault("DescribeCertificates", count=None)
        emulator.inject_delay("DescribeCertificates", 5, count=None)

    with mock_aws():
        client = boto_session.client("rds", region_name=US)
        started = time.monotonic()
        assert client.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
        assert time.monotonic() - started < 1
        assert emulator.calls() == [(US, "DescribeCertificates")]


def test_install_is_idempotent() -> None:
    hooked = RDSResponse.call_action
    emulator.install()
    emulator.install()

    assert RDSResponse.call_action is hooked
    assert RDSResponse.describe_certificates is emulator.responses.describe_certificates  # type: ignore[attr-defined]
    assert RDSResponse.modify_certificates is emulator.responses.modify_certificates  # type: ignore[attr-defined]
    assert RDSResponse.create_db_instance is emulator.instances.create_db_instance


def test_arn_follows_the_partition() -> None:
    backend = emulator.RDSCertificatesBackend("cn-north-1", DEFAULT_ACCOUNT_ID)

    certificates, _, _ = backend.describe_certificates(certificate_identifier="rds-ca-rsa2048-g1")

    assert certificates[0].certificate_arn == "arn:aws-cn:rds:cn-north-1::cert:rds-ca-rsa2048-g1"
