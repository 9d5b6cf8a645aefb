"""The RDS CA rules of policy/rds-ca.guard and policy/rds-ca-warnings.guard, for the cdk-nag pack
(`rds_certificate_override.nag.RdsCaChecks`): the same rule ids, messages and verdicts, judged in Python at
synth because the Guard engine's Python package (cfn-guard-rs) has no wheels for every Python a CDK app
runs on. The Guard files are the reference: tests/cdk/test_policy_nag_parity.py runs one table of cases
through both and requires the same verdicts, and the messages here to be the Guard files' own.

Pure: a resource in the template shape (Type, Properties, Metadata), the template's other resources, and
one account-region's data file (`rds-certificate-override policy-data`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

FAIL, WARN = "FAIL", "WARN"
INSTANCE, CLUSTER, DOCDB = "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DocDB::DBInstance"
PARAMETER_GROUPS = ("AWS::RDS::DBParameterGroup", "AWS::RDS::DBClusterParameterGroup")

# The rules' messages, word for word those of the Guard files (`<< >>`).
NOT_DECLARED_BY_HAND = (
    "No CACertificateIdentifier, and the region's default CA is set by hand (ModifyCertificates), "
    "not declared by an RdsCertificateOverride: set CACertificateIdentifier or declare the default"
)
NOT_DECLARED_SYSTEM = (
    "No CACertificateIdentifier, and no default CA is declared in this region (the system default applies): "
    "set CACertificateIdentifier or declare the default with an RdsCertificateOverride"
)
UNKNOWN_CA = "The CA is not one of this region's CAs (DescribeCertificates): choose one of them"
UNKNOWN_DEFAULT = "The region's declared default CA is not one of this region's CAs (DescribeCertificates)"
EXPIRING_CA = "The CA expires within the data's horizon (RdsCaHorizon): choose a CA that does not"
EXPIRING_DEFAULT = "The region's declared default CA expires within the data's horizon (RdsCaHorizon)"
UNSUPPORTED_CA = (
    "The engine version does not support the CA (SupportedCACertificateIdentifiers): choose one it supports"
)
UNSUPPORTED_DEFAULT = (
    "The engine version does not support the region's declared default CA "
    "(SupportedCACertificateIdentifiers): set CACertificateIdentifier to one it supports"
)
UNKNOWN_ENGINE = (
    "The engine is not in the data (DescribeDBEngineVersions of this region): its CAs are not judged"
)
UNKNOWN_VERSION = (
    "The engine version is not in the data (DescribeDBEngineVersions of this region): its CAs are not judged"
)
UNKNOWN_DOCDB_VERSION = (
    "The DocumentDB engine version of the instance's cluster is not in the data (DescribeDBEngineVersions of "
    "this region): its CAs are not judged"
)
NO_RESTART = (
    "CertificateRotationRestart is false while a parameter group of this template forces TLS "
    "(rds.force_ssl / require_secure_transport): without a restart the database keeps serving its old "
    "certificate"
)

RULES = {
    "RDS_CA_DECLARED": FAIL,
    "RDS_CA_EXISTS": FAIL,
    "RDS_CA_NOT_EXPIRING": FAIL,
    "RDS_CA_ENGINE_SUPPORTED": FAIL,
    "RDS_CA_ENGINE_KNOWN": WARN,
    "RDS_CA_ROTATION_RESTART": WARN,
}
DATA_KEYS = ("RdsCaCertificates", "RdsCaExpiring", "RdsCaDefault", "RdsCaEngineSelections", "RdsCaEngines")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    value: Any = None
    choices: Any = None

    def text(self) -> str:
        """The message with what was compared, as `policy-check` prints it."""
        if self.value is None:
            return self.message
        shown = ", ".join(map(str, self.choices)) if isinstance(self.choices, list) else self.choices
        return f"{self.message} (value: {self.value}" + (
            f"; valid: {shown})" if self.choices is not None else ")"
        )


def is_judged(resource: Mapping[str, Any]) -> bool:
    kind, properties = resource.get("Type"), resource.get("Properties") or {}
    return kind in (INSTANCE, DOCDB) or (kind == CLUSTER and "DBClusterInstanceClass" in properties)


def judge(
    resource: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any]
) -> list[Finding]:
    """Every finding of the rules on one resource; `resources`: the template's (for a DocumentDB
    instance's cluster and the parameter groups). Rules in Metadata.guard.SuppressedRules are skipped."""
    suppressed = set(((resource.get("Metadata") or {}).get("guard") or {}).get("SuppressedRules") or [])
    found = list(_restart(resource, resources)) if resource.get("Type") in (INSTANCE, CLUSTER, DOCDB) else []
    if is_judged(resource):
        found += list(_judged(resource, resources, data))
    return [finding for finding in found if finding.rule not in suppressed]


def _judged(
    resource: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any]
) -> Iterator[Finding]:
    properties = resource.get("Properties") or {}
    default = data["RdsCaDefault"]
    declared = default["SetBy"] == "declared"
    ca = properties.get("CACertificateIdentifier")
    if "CACertificateIdentifier" not in properties:
        if default["SetBy"] == "hand":
            yield Finding("RDS_CA_DECLARED", FAIL, NOT_DECLARED_BY_HAND, "hand", ["declared", "system"])
        elif default["SetBy"] == "system":
            yield Finding("RDS_CA_DECLARED", FAIL, NOT_DECLARED_SYSTEM, "system", ["declared", "hand"])
    # The CA judged: the resource's own, else the declared default; an intrinsic function is not judged.
    effective, own = (ca, True) if isinstance(ca, str) else (default["Certificate"], False)
    if not (own or ("CACertificateIdentifier" not in properties and declared)):
        effective = None
    if effective is not None:
        if effective not in data["RdsCaCertificates"]:
            yield Finding(
                "RDS_CA_EXISTS",
                FAIL,
                UNKNOWN_CA if own else UNKNOWN_DEFAULT,
                effective,
                data["RdsCaCertificates"],
            )
        if effective in data["RdsCaExpiring"]:
            yield Finding("RDS_CA_NOT_EXPIRING", FAIL, EXPIRING_CA if own else EXPIRING_DEFAULT, effective)
    engine, version, known = _engine(resource, resources, data)
    yield from known
    if effective is not None and engine is not None:
        chosen = _chosen(data, engine, version)
        if chosen is not None and effective not in chosen:
            message = UNSUPPORTED_CA if own else UNSUPPORTED_DEFAULT
            yield Finding("RDS_CA_ENGINE_SUPPORTED", FAIL, message, effective, chosen)


def _chosen(data: Mapping[str, Any], engine: str, version: str | None) -> list[str] | None:
    """The CAs every version the resource can select supports; None: the data does not know them."""
    if version is None:
        entries = [e for e in data["RdsCaEngines"] if e["Engine"] == engine]
    else:
        entries = [
            e for e in data["RdsCaEngineSelections"] if (e["Engine"], e["Version"]) == (engine, version)
        ]
    return list(entries[0]["Supported"]) if entries else None


def _engine(
    resource: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any]
) -> tuple[str | None, str | None, list[Finding]]:
    """(engine, EngineVersion or None, the RDS_CA_ENGINE_KNOWN warnings); engine None: not judged."""
    properties = resource.get("Properties") or {}
    versions_of = {
        name: [e["Version"] for e in data["RdsCaEngineSelections"] if e["Engine"] == name]
        for name in {e["Engine"] for e in data["RdsCaEngineSelections"]}
    }
    if resource.get("Type") == DOCDB:
        reference = properties.get("DBClusterIdentifier")
        cluster = (
            resources.get(reference["Ref"], {}) if isinstance(reference, dict) and "Ref" in reference else {}
        )
        version = (cluster.get("Properties") or {}).get("EngineVersion")
        if not isinstance(version, str):
            return "docdb", None, []
        known = versions_of.get("docdb", [])
        warn = (
            []
            if version in known
            else [Finding("RDS_CA_ENGINE_KNOWN", WARN, UNKNOWN_DOCDB_VERSION, version, known)]
        )
        return "docdb", version, warn
    engine, version = properties.get("Engine"), properties.get("EngineVersion")
    if not isinstance(engine, str):
        return None, None, []
    engine = engine.lower()
    names = [e["Engine"] for e in data["RdsCaEngines"]]
    warnings = (
        [] if engine in names else [Finding("RDS_CA_ENGINE_KNOWN", WARN, UNKNOWN_ENGINE, engine, names)]
    )
    if isinstance(version, str):
        known = versions_of.get(engine, [])
        if known and version not in known:
            warnings.append(Finding("RDS_CA_ENGINE_KNOWN", WARN, UNKNOWN_VERSION, version, known))
        return engine, version, warnings
    if "EngineVersion" in properties:  # an intrinsic function: not judged
        return None, None, warnings
    return engine, None, warnings


def forces_tls(resource: Mapping[str, Any]) -> bool:
    parameters = (resource.get("Properties") or {}).get("Parameters") or {}
    return resource.get("Type") in PARAMETER_GROUPS and (
        parameters.get("rds.force_ssl") in (1, "1", "true", True)
        or parameters.get("require_secure_transport") in (1, "1", "ON", "on", "true", True)
    )


def _restart(resource: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]]) -> Iterator[Finding]:
    restart = (resource.get("Properties") or {}).get("CertificateRotationRestart")
    if restart is False or restart == "false":
        groups = [name for name, other in resources.items() if forces_tls(other)]
        if groups:
            yield Finding("RDS_CA_ROTATION_RESTART", WARN, NO_RESTART, f"/Resources/{groups[0]}")
