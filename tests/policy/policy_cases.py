"""One table of cases for the RDS CA rules: run through the real Guard engine (test_policy_rules.py) and
through the cdk-nag pack (tests/cdk/test_policy_nag_parity.py), which must give the same verdicts.

Each case is a template's resources and the data it is judged with: one account-region's data file, made
by policy-data's own `build_data` from DescribeCertificates / DescribeDBEngineVersions / ledger answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rds_override_tools import policy_data, status

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ACCOUNT = "111122223333"
REGION = "eu-west-1"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ca/5e2c4f00-0000-0000-0000-000000000000"

RSA2048, RSA4096, ECC384, SOON = "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1", "rds-ca-2019"
ALL = [RSA2048, RSA4096, ECC384]
NO_ECC = [RSA2048, RSA4096]

CERTIFICATES = [
    {"CertificateIdentifier": RSA2048, "ValidTill": datetime(2061, 5, 1, tzinfo=UTC)},
    {"CertificateIdentifier": RSA4096, "ValidTill": datetime(2121, 5, 1, tzinfo=UTC)},
    {"CertificateIdentifier": ECC384, "ValidTill": datetime(2121, 5, 1, tzinfo=UTC)},
    {"CertificateIdentifier": SOON, "ValidTill": datetime(2026, 12, 20, tzinfo=UTC)},  # within 30 days
]
ENGINE_VERSIONS = [
    {"Engine": "postgres", "EngineVersion": "16.1", "SupportedCACertificateIdentifiers": [*NO_ECC, SOON]},
    {"Engine": "postgres", "EngineVersion": "16.3", "SupportedCACertificateIdentifiers": [*ALL, SOON]},
    {"Engine": "postgres", "EngineVersion": "15.7", "SupportedCACertificateIdentifiers": [*ALL, SOON]},
    {"Engine": "mysql", "EngineVersion": "8.0.39", "SupportedCACertificateIdentifiers": ALL},
    {
        "Engine": "sqlserver-se",
        "EngineVersion": "15.00.4415.2.v1",
        "SupportedCACertificateIdentifiers": NO_ECC,
    },
    {
        "Engine": "sqlserver-se",
        "EngineVersion": "16.00.4095.4.v1",
        "SupportedCACertificateIdentifiers": NO_ECC,
    },
    {"Engine": "docdb", "EngineVersion": "4.0.0", "SupportedCACertificateIdentifiers": [RSA2048]},
    {"Engine": "docdb", "EngineVersion": "5.0.0", "SupportedCACertificateIdentifiers": ALL},
]


def declaration(certificate: str) -> status.Declaration:
    return status.Declaration(
        parameter_name=f"/rds-certificate-override/declarations/ca/x/{certificate}",
        stack_id=STACK,
        logical_resource_id="Ca",
        certificate_identifier=certificate,
        ledger_state="applied",
    )


def make_data(default: str = RSA4096, set_by: str = "declared") -> dict[str, Any]:
    """The data file of a region whose default for new launches is `default`: declared (an override a live
    stack declares), set by hand (an override no one declares) or the system's (no override)."""
    certificates = [
        {**c, "CustomerOverride": set_by != "system" and c["CertificateIdentifier"] == default}
        for c in CERTIFICATES
    ]
    return policy_data.build_data(
        account=ACCOUNT,
        region=REGION,
        certificates=certificates,
        default_certificate=default,
        declarations=[declaration(default)] if set_by == "declared" else [],
        live_stacks={STACK},
        engine_versions=ENGINE_VERSIONS,
        now=NOW,
        days=30,
    )


DECLARED = make_data()
DECLARED_ECC = make_data(ECC384)
BY_HAND = make_data(ECC384, "hand")
SYSTEM = make_data(RSA2048, "system")


def db(engine: str, version: str | None = None, ca: str | None = None, **more: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"Engine": engine, "DBInstanceClass": "db.t4g.micro", **more}
    if version is not None:
        properties["EngineVersion"] = version
    if ca is not None:
        properties["CACertificateIdentifier"] = ca
    return {"Type": "AWS::RDS::DBInstance", "Properties": properties}


def multi_az(engine: str, version: str, **more: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBCluster",
        "Properties": {
            "Engine": engine,
            "EngineVersion": version,
            "DBClusterInstanceClass": "db.m6gd.large",
            **more,
        },
    }


def docdb(version: str, ca: str | None = None) -> dict[str, dict[str, Any]]:
    instance: dict[str, Any] = {
        "DBClusterIdentifier": {"Ref": "DocCluster"},
        "DBInstanceClass": "db.r6g.large",
    }
    if ca is not None:
        instance["CACertificateIdentifier"] = ca
    return {
        "DocCluster": {"Type": "AWS::DocDB::DBCluster", "Properties": {"EngineVersion": version}},
        "Db": {"Type": "AWS::DocDB::DBInstance", "Properties": instance},
    }


def suppressed(resource: dict[str, Any], *rules: str) -> dict[str, Any]:
    return {**resource, "Metadata": {"guard": {"SuppressedRules": list(rules)}}}


TLS_GROUP = {
    "Type": "AWS::RDS::DBParameterGroup",
    "Properties": {"Family": "postgres16", "Description": "TLS only", "Parameters": {"rds.force_ssl": "1"}},
}

FAIL, WARN = "FAIL", "WARN"


@dataclass(frozen=True)
class Case:
    id: str
    resources: dict[str, Any]
    data: dict[str, Any]
    expected: set[tuple[str, str]]  # (rule, severity) found on resource "Db"
    hook: set[tuple[str, str]] | None = None  # the Hook's shape, where it differs (None: the same)
    notes: list[str] = field(default_factory=list)


CASES = [
    Case("instance-with-supported-ca", {"Db": db("postgres", "16.3", RSA2048)}, SYSTEM, set()),
    Case("no-ca-declared-default", {"Db": db("postgres", "16.3")}, DECLARED, set()),
    Case("no-ca-default-set-by-hand", {"Db": db("postgres", "16.3")}, BY_HAND, {("RDS_CA_DECLARED", FAIL)}),
    Case("no-ca-system-default", {"Db": db("postgres", "16.3")}, SYSTEM, {("RDS_CA_DECLARED", FAIL)}),
    Case(
        "sqlserver-ecc384",
        {"Db": db("sqlserver-se", "15.00.4415.2.v1", ECC384)},
        SYSTEM,
        {("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case(
        "sqlserver-declared-ecc384-default",
        {"Db": db("sqlserver-se", "15.00.4415.2.v1")},
        DECLARED_ECC,
        {("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case("sqlserver-rsa4096", {"Db": db("sqlserver-se", "16.00.4095.4.v1", RSA4096)}, SYSTEM, set()),
    Case(
        "sqlserver-no-version-ecc384",
        {"Db": db("SQLServer-SE", None, ECC384)},
        SYSTEM,
        {("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case(
        "unknown-ca",
        {"Db": db("postgres", "16.3", "rds-ca-nope")},
        SYSTEM,
        {("RDS_CA_EXISTS", FAIL), ("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case("expiring-ca", {"Db": db("postgres", "16.3", SOON)}, SYSTEM, {("RDS_CA_NOT_EXPIRING", FAIL)}),
    Case(
        "unknown-engine-version",
        {"Db": db("postgres", "99.1", RSA2048)},
        SYSTEM,
        {("RDS_CA_ENGINE_KNOWN", WARN)},
    ),
    Case("unknown-engine", {"Db": db("db2-se", "11.5", RSA2048)}, SYSTEM, {("RDS_CA_ENGINE_KNOWN", WARN)}),
    Case(
        "partial-version-selects-one-that-lacks-the-ca",
        {"Db": db("postgres", "16", ECC384)},
        SYSTEM,
        {("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case("partial-version-all-support-the-ca", {"Db": db("postgres", "15", ECC384)}, SYSTEM, set()),
    Case("full-version-supports-the-ca", {"Db": db("postgres", "16.3", ECC384)}, SYSTEM, set()),
    Case("multi-az-cluster-declared-default", {"Db": multi_az("mysql", "8.0.39")}, DECLARED, set()),
    Case(
        "multi-az-cluster-default-by-hand",
        {"Db": multi_az("mysql", "8.0.39")},
        BY_HAND,
        {("RDS_CA_DECLARED", FAIL)},
    ),
    Case(
        "aurora-cluster-is-not-judged",
        {"Db": {"Type": "AWS::RDS::DBCluster", "Properties": {"Engine": "aurora-postgresql"}}},
        BY_HAND,
        set(),
    ),
    Case("docdb-5-ecc384", docdb("5.0.0", ECC384), SYSTEM, set(), hook={("RDS_CA_ENGINE_SUPPORTED", FAIL)}),
    Case("docdb-4-ecc384", docdb("4.0.0", ECC384), SYSTEM, {("RDS_CA_ENGINE_SUPPORTED", FAIL)}),
    Case("docdb-no-ca-by-hand", docdb("5.0.0"), BY_HAND, {("RDS_CA_DECLARED", FAIL)}),
    Case(
        "no-restart-with-tls-forced",
        {"Db": db("postgres", "16.3", RSA2048, CertificateRotationRestart=False), "Tls": TLS_GROUP},
        SYSTEM,
        {("RDS_CA_ROTATION_RESTART", WARN)},
        hook=set(),
    ),
    Case(
        "no-restart-without-tls-forced",
        {"Db": db("postgres", "16.3", RSA2048, CertificateRotationRestart="false")},
        SYSTEM,
        set(),
    ),
    Case(
        "suppressed",
        {"Db": suppressed(db("sqlserver-se", "15.00.4415.2.v1", ECC384), "RDS_CA_ENGINE_SUPPORTED")},
        SYSTEM,
        set(),
        hook={("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
    Case(
        "suppressing-another-rule-changes-nothing",
        {"Db": suppressed(db("sqlserver-se", "15.00.4415.2.v1", ECC384), "RDS_CA_EXISTS")},
        SYSTEM,
        {("RDS_CA_ENGINE_SUPPORTED", FAIL)},
    ),
]


def hook_input(case: Case) -> dict[str, Any]:
    """The Guard Hook's input for the case's resource "Db": that resource alone, no Metadata."""
    resource = case.resources["Db"]
    return {
        "Resources": {"Db": {"ResourceType": resource["Type"], "ResourceProperties": resource["Properties"]}}
    }
