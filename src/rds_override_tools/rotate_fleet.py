"""The SDK reads and writes behind `rotate`: each account-region read into plain data and handed to
`rotation.plan_region`; the planned items sent, at most `max_concurrent` at a time per account and region.

Nothing here decides what to rotate (`rotation.py` does), and nothing here raises for one account, region
or database: a region that cannot be read is a `RegionError`, a change that fails is a `failed` item.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rds_override_tools import aws, rotation, trust_fleet, trust_store
from rds_override_tools.fleet import (
    READ_ERRORS,
    AccountPlan,
    FleetReader,
    Memo,
    describe_error,
    each_region,
    read_region_databases,
)
from rds_override_tools.rotation import Database, Item, Kind, Options, Outcome, RegionError

# The IAM actions `rotate` calls in each account it reads (the member role), as docs/status.md's IAM table and
# /work/coord/rotation-actions.txt list them; tests/rotation/test_rotate.py checks them against the calls.
READ_ACTIONS = (
    "rds:DescribeCertificates",
    "rds:DescribeDBInstances",
    "rds:DescribeDBEngineVersions",
    "rds:DescribeDBClusters",
    "rds:DescribePendingMaintenanceActions",
    "rds:DescribeDBProxies",
    "rds:DescribeDBParameters",  # --no-restart: does the parameter group force TLS?
    "rds:DescribeDBClusterParameters",
    "ssm:GetParametersByPath",
    "cloudformation:DescribeStacks",
    "ec2:DescribeRegions",
)
WRITE_ACTIONS = ("rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:ApplyPendingMaintenanceAction")


class RotationReader:
    """Reads one account-region into plan items; one instance per run (its caches last the run)."""

    def __init__(
        self,
        reader: FleetReader,
        *,
        to: str | None,
        options: Options,
        stores: Sequence[trust_store.Store] | None = None,
    ) -> None:
        self.reader = reader
        self.clients = reader.clients
        self.to = to
        self.options = options
        self.stores = stores  # --trust-store; None: clients not checked
        self.trust: list[trust_store.Finding] = []
        self._trust_lock = threading.Lock()
        self._parameters: Memo[tuple[str, str, str, str], str | None] = Memo()

    def declared(self, account: str, region: str) -> list[str]:
        """The CAs the region's live declarations declare (the ledger, read as `status` reads it)."""
        declarations = self.reader.declarations(account, region)
        return [
            declaration.certificate_identifier
            for declaration in declarations
            if self.reader.stack_is_live(account, declaration.stack_id)
        ]

    def plan_region(self, account: str, region: str) -> list[Item] | RegionError:
        with self.clients.account(account):
            try:
                return self._plan_region(account, region)
            except READ_ERRORS as error:
                return RegionError(account, region, describe_error(error))

    def tls_forced(self, account: str, region: str, database: Database) -> str | None:
        """With --no-restart: the parameter forcing TLS on `database`, or why that could not be read."""
        group = database.parameter_group
        if group is None or rotation.tls_parameter(database.engine) is None:
            return None
        cluster = database.kind is Kind.CLUSTER

        def describe() -> str | None:
            rds = self.clients.rds(region)
            try:
                with self.clients.account(account):
                    if cluster:
                        pages = rds.get_paginator("describe_db_cluster_parameters").paginate(
                            DBClusterParameterGroupName=group
                        )
                    else:
                        pages = rds.get_paginator("describe_db_parameters").paginate(
                            DBParameterGroupName=group
                        )
                    parameters = [p for page in pages for p in page["Parameters"]]
            except READ_ERRORS as error:  # cannot tell: not safe to skip the restart
                return f"parameter group {group} could not be read: {describe_error(error)}"
            return rotation.tls_forced(database.engine, group, parameters)

        return self._parameters.get((account, region, group, database.engine), describe)

    def _plan_region(self, account: str, region: str) -> list[Item] | RegionError:
        rds = self.clients.rds(region)
        certificates = trust_fleet.describe_certificates(rds)
        declared = self.declared(account, region) if self.to is None else []
        now = self.reader.now
        target, why = rotation.choose_target(
            self.to,
            declared,
            certificates.default,
            certificates.identifiers,
            valid_till=certificates.valid_till,
            now=now,
        )
        if target is None:
            expired = self.to is not None and rotation.expired_on(self.to, certificates.valid_till, now)
            return RegionError(account, region, why, problem=rotation.NO_TARGET, bad_input=bool(expired))
        found = read_region_databases(rds)
        proxies = [
            proxy["DBProxyName"]
            for page in rds.get_paginator("describe_db_proxies").paginate()
            for proxy in page["DBProxies"]
        ]
        off_target = {(d.engine, d.engine_version) for d in found.databases if d.certificate != target}
        engines = {key: self.reader.engine_facts(account, region, *key) for key in sorted(off_target)}
        tls: dict[str, str] = {}
        if self.options.no_restart:
            for database in found.databases:
                if database.certificate != target and (forced := self.tls_forced(account, region, database)):
                    tls[database.arn] = forced
        items = rotation.plan_region(
            account,
            region,
            target=target,
            proposed=certificates.default,
            databases=found.databases,
            engines=engines,
            maintenance=found.maintenance,
            proxies=proxies,
            options=self.options,
            tls=tls,
            valid_till=certificates.valid_till,
            now=now,
        )
        if self.stores is None:
            return items
        requirement = trust_fleet.target_requirement(region, target, certificates)
        findings = trust_store.judge_all(self.stores, [requirement], now, account)
        with self._trust_lock:
            self.trust.extend(findings)
        return rotation.gate(items, findings)


def plan_fleet(
    planner: RotationReader,
    plans: Sequence[AccountPlan],
    regions: list[str] | None,
    *,
    concurrency: int,
    on_region: Callable[[], object] = lambda: None,
) -> tuple[list[Item], list[RegionError]]:
    """Every account's regions planned by at most `concurrency` threads: the items (sorted) and the
    account-regions that could not be read."""
    items, errors = each_region(
        planner.clients, plans, regions, planner.plan_region, concurrency=concurrency, on_region=on_region
    )
    items.sort(key=lambda item: (item.account, item.region))
    return items, errors


def send(clients: aws.Clients, item: Item, options: Options) -> Item:
    """One change; its outcome (never raises for AWS's answer)."""
    method, parameters = rotation.request(item, options)
    try:
        with clients.account(item.account):
            getattr(clients.rds(item.region), method)(**parameters)
    except (ClientError, BotoCoreError) as error:
        return rotation.with_outcome(item, Outcome.FAILED, describe_error(error))
    return rotation.with_outcome(item, Outcome.APPLIED)


def apply_plan(
    clients: aws.Clients,
    items: Sequence[Item],
    options: Options,
    *,
    max_concurrent: int,
    concurrency: int,
    on_result: Callable[[Item], object] = lambda _item: None,
    sender: Callable[[aws.Clients, Item, Options], Item] | None = None,
) -> tuple[list[Item], bool]:
    """Send every planned item: account-regions side by side (`concurrency`), at most `max_concurrent`
    changes at a time within each. Returns (every item with its outcome, interrupted).

    Ctrl-C (KeyboardInterrupt in this thread, also from `on_result`) stops new changes: the ones in flight
    finish and are recorded as what they did, the rest are `not-started`, and this returns normally.
    """
    sender = sender or send
    stop = threading.Event()
    results: queue.Queue[Item] = queue.Queue()
    by_region: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        if item.planned:
            by_region.setdefault((item.account, item.region), []).append(item)

    def one(item: Item) -> None:
        if stop.is_set():
            return
        try:
            results.put(sender(clients, item, options))
        except Exception as error:  # a bug must still be a row of the report, never a silent not-started
            results.put(rotation.with_outcome(item, Outcome.FAILED, f"{type(error).__name__}: {error}"))

    def region(group: list[Item]) -> None:
        with ThreadPoolExecutor(max_workers=max_concurrent) as inner:
            for _ in inner.map(one, group):
                pass

    done: dict[tuple[str, str, Any, str], Item] = {}
    interrupted = False
    outer = ThreadPoolExecutor(max_workers=concurrency)
    futures = [outer.submit(region, group) for group in by_region.values()]
    try:
        while not all(future.done() for future in futures) or not results.empty():
            try:
                result = results.get(timeout=0.05)
            except queue.Empty:
                continue
            done[_key(result)] = result
            on_result(result)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    finally:
        outer.shutdown(wait=True, cancel_futures=True)
    while not results.empty():  # the changes that were in flight when interrupted
        result = results.get()
        done[_key(result)] = result
    final = [
        done.get(_key(item), rotation.with_outcome(item, Outcome.NOT_STARTED) if item.planned else item)
        for item in items
    ]
    return final, interrupted


def _key(item: Item) -> tuple[str, str, Any, str]:
    return (item.account, item.region, item.kind, item.identifier)
