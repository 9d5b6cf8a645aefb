"""The SDK reads behind `check-trust-store`: per account-region, DescribeCertificates once (the thumbprint and
ValidTill of each CA's regional root), the ledger (the declared target) and the databases' current CAs;
the stores judged against them by `trust_store`. Nothing here raises for one account or region."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rds_override_tools import rotation, trust_store
from rds_override_tools.fleet import (
    READ_ERRORS,
    AccountPlan,
    FleetReader,
    describe_error,
    each_region,
    read_region_databases,
)
from rds_override_tools.rotation import RegionError
from rds_override_tools.trust_store import Finding, Requirement, Store


class RegionCertificates:
    """One region's DescribeCertificates, by CA identifier."""

    def __init__(self, pages: Sequence[Mapping[str, Any]]) -> None:
        listed = [certificate for page in pages for certificate in page.get("Certificates", [])]
        self.default: str = pages[0].get("DefaultCertificateForNewLaunches", "") if pages else ""
        self.identifiers = [c["CertificateIdentifier"] for c in listed]
        self.thumbprints = {c["CertificateIdentifier"]: c.get("Thumbprint", "") for c in listed}
        self.valid_till = {c["CertificateIdentifier"]: c["ValidTill"] for c in listed if c.get("ValidTill")}


def describe_certificates(rds: Any) -> RegionCertificates:
    return RegionCertificates(list(rds.get_paginator("describe_certificates").paginate()))


def target_requirement(region: str, target: str, certificates: RegionCertificates) -> Requirement:
    """What a store must hold for `target` in this region (rotate --trust-store gates on it)."""
    return trust_store.requirements(
        region,
        target=target,
        databases_by_ca={},
        thumbprints=certificates.thumbprints,
        valid_till=certificates.valid_till,
    )[0]


class TrustReader:
    """Judges the stores in each account-region; one instance per run."""

    def __init__(
        self,
        reader: FleetReader,
        stores: Sequence[Store],
        *,
        to: str | None,
        target_only: bool,
        now: datetime,
    ) -> None:
        self.reader = reader
        self.clients = reader.clients
        self.stores = stores
        self.to = to
        self.target_only = target_only
        self.now = now

    def check_region(self, account: str, region: str) -> list[Finding] | RegionError:
        with self.clients.account(account):
            try:
                return self._check_region(account, region)
            except READ_ERRORS as error:
                return RegionError(account, region, describe_error(error))

    def _check_region(self, account: str, region: str) -> list[Finding] | RegionError:
        rds = self.clients.rds(region)
        certificates = describe_certificates(rds)
        declared = [] if self.to is not None else self._declared(account, region)
        target, why = rotation.choose_target(
            self.to, declared, certificates.default, certificates.identifiers
        )
        if target is None:
            return RegionError(account, region, why)
        databases_by_ca: dict[str, list[str]] = {}
        if not self.target_only:
            for database in read_region_databases(rds).databases:
                if database.multi_az_cluster is None and database.engine not in rotation.OTHER_SERVICES:
                    databases_by_ca.setdefault(database.certificate or "unknown", []).append(
                        database.identifier
                    )
        databases_by_ca.pop("unknown", None)
        wanted = trust_store.requirements(
            region,
            target=target,
            databases_by_ca=databases_by_ca,
            thumbprints=certificates.thumbprints,
            valid_till=certificates.valid_till,
        )
        return trust_store.judge_all(self.stores, wanted, self.now, account)

    def _declared(self, account: str, region: str) -> list[str]:
        return [
            declaration.certificate_identifier
            for declaration in self.reader.declarations(account, region)
            if self.reader.stack_is_live(account, declaration.stack_id)
        ]


def check_fleet(
    checker: TrustReader,
    plans: Sequence[AccountPlan],
    regions: list[str] | None,
    *,
    concurrency: int,
    on_region: Callable[[], object] = lambda: None,
) -> tuple[list[Finding], list[RegionError]]:
    """Every account's regions checked by at most `concurrency` threads: findings sorted by store, account,
    region; the account-regions that could not be read."""
    findings, errors = each_region(
        checker.clients, plans, regions, checker.check_region, concurrency=concurrency, on_region=on_region
    )
    order = {store.path: index for index, store in enumerate(checker.stores)}
    findings.sort(key=lambda f: (order[f.store], f.account or "", f.requirement.region))
    return findings, errors


def check_offline(
    stores: Sequence[Store], regions: Sequence[str], target: str, now: datetime
) -> list[Finding]:
    """--offline: the target's published root in each region, matched by name; no AWS call."""
    wanted = [
        trust_store.requirements(
            region, target=target, databases_by_ca={}, thumbprints=None, valid_till=None
        )[0]
        for region in regions
    ]
    return trust_store.judge_all(stores, wanted, now)
