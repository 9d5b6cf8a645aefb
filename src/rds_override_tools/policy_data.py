"""`policy-data`: the facts the RDS CA Guard rules judge by, for one account-region, as one JSON document.

Its keys sit at the top level of Guard's input (a Guard Hook merges its input parameter files there) and
never clash with a template's: each starts with `RdsCa`. Sorted, and dated by day, so that a committed copy
diffs well. `build_data` is pure; `read_data` makes the SDK calls (DescribeCertificates,
DescribeDBEngineVersions of every engine, paged, and the ledger through `FleetReader`, as `status` reads it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rds_override_tools import fleet, status

# DescribeDBEngineVersions without an engine lists RDS's engines; DocumentDB's are asked for by name too.
ASKED_BY_NAME = ("docdb",)


def selectors(version: str) -> list[str]:
    """The EngineVersion values that select `version`: itself and each prefix ending before a dot
    ("16.3" is selected by "16" and "16.3")."""
    parts = version.split(".")
    return [".".join(parts[: index + 1]) for index in range(len(parts))]


def engine_selections(
    versions: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(RdsCaEngineSelections, RdsCaEngines): for each engine and EngineVersion value that selects a known
    version, the CAs that every version it selects supports; for each engine, what all its versions support.
    A selection with a version that does not list its CAs is left out: the rules then warn, not judge."""
    by_engine: dict[str, dict[str, frozenset[str] | None]] = {}
    for version in versions:
        listed = version.get("SupportedCACertificateIdentifiers")
        by_engine.setdefault(version["Engine"].lower(), {})[version["EngineVersion"]] = (
            None if listed is None else frozenset(listed)
        )
    selections: list[dict[str, Any]] = []
    engines: list[dict[str, Any]] = []
    for engine, known in sorted(by_engine.items()):
        chosen: dict[str, list[frozenset[str] | None]] = {}
        for number, supported in known.items():
            for selector in selectors(number):
                chosen.setdefault(selector, []).append(supported)
        for selector, lists in sorted(chosen.items()):
            common = _common(lists)
            if common is not None:
                selections.append({"Engine": engine, "Version": selector, "Supported": common})
        common = _common(list(known.values()))
        if common is not None:
            engines.append({"Engine": engine, "Supported": common})
    return selections, engines


def _common(lists: Sequence[frozenset[str] | None]) -> list[str] | None:
    if any(supported is None for supported in lists):
        return None
    return sorted(frozenset.intersection(*[supported for supported in lists if supported is not None]))


def default_set_by(override: str | None, declarations: Sequence[status.Declaration], live: set[str]) -> str:
    """ "declared" when a live declaration declares the override in force (status: in-sync), "hand" when an
    override stands that no live declaration declares as it is, "system" when there is no override."""
    if override is None:
        return "system"
    if declarations and status.decide_state(override, declarations, live) is status.State.IN_SYNC:
        return "declared"
    return "hand"


def build_data(
    *,
    account: str,
    region: str,
    certificates: Sequence[Mapping[str, Any]],
    default_certificate: str,
    declarations: Sequence[status.Declaration],
    live_stacks: set[str],
    engine_versions: Iterable[Mapping[str, Any]],
    now: datetime,
    days: int,
) -> dict[str, Any]:
    horizon = now + timedelta(days=days)
    override = status.read_certificates(default_certificate, certificates).override
    set_by = default_set_by(override, declarations, live_stacks)
    selections, engines = engine_selections(engine_versions)
    return {
        "RdsCaAccount": account,
        "RdsCaRegion": region,
        "RdsCaHorizon": {
            "Days": days,
            "MadeOn": now.date().isoformat(),
            "ExpiresBefore": horizon.date().isoformat(),
        },
        "RdsCaCertificates": sorted(c["CertificateIdentifier"] for c in certificates),
        "RdsCaExpiring": sorted(
            c["CertificateIdentifier"]
            for c in certificates
            if c.get("ValidTill") and c["ValidTill"] <= horizon
        ),
        "RdsCaDefault": {
            "Certificate": default_certificate,
            "SetBy": set_by,
            "DeclaredBy": sorted(
                d.declared_by
                for d in declarations
                if d.stack_id in live_stacks and d.certificate_identifier == override and set_by == "declared"
            ),
        },
        "RdsCaEngineSelections": selections,
        "RdsCaEngines": engines,
    }


def render(data: Mapping[str, Any]) -> str:
    """Sorted, one key a line, and one entry a line in the lists of entries: small, and a change in the
    region is a change of a few lines."""

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            entries = ",\n".join(f"  {compact(item)}" for item in value)
            lines.append(f" {json.dumps(key)}: [\n{entries}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_engine_versions(rds: Any) -> list[dict[str, Any]]:
    """Every engine version of the region (RDS's and DocumentDB's), once each."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    paginator = rds.get_paginator("describe_db_engine_versions")
    for request in [{}, *({"Engine": engine} for engine in ASKED_BY_NAME)]:
        for page in paginator.paginate(**request):
            for version in page["DBEngineVersions"]:
                found.setdefault((version["Engine"], version["EngineVersion"]), version)
    return list(found.values())


def read_data(reader: fleet.FleetReader, account: str, region: str, days: int) -> dict[str, Any]:
    """The data file of one account-region (ClientError / BotoCoreError / LedgerError propagate)."""
    with reader.clients.account(account):
        rds = reader.clients.rds(region)
        pages = list(rds.get_paginator("describe_certificates").paginate())
        engine_versions = read_engine_versions(rds)
    declarations = reader.declarations(account, region)
    live = {d.stack_id for d in declarations if reader.stack_is_live(account, d.stack_id)}
    return build_data(
        account=account,
        region=region,
        certificates=[certificate for page in pages for certificate in page.get("Certificates", [])],
        default_certificate=pages[0].get("DefaultCertificateForNewLaunches", ""),
        declarations=declarations,
        live_stacks=live,
        engine_versions=engine_versions,
        now=reader.now,
        days=days,
    )
