"""`make simulate-org`: an Organization rollout played on the emulator, as a service-managed StackSet would
run it, and measured.

Each of ACCOUNTS accounts (moto keeps one set of backends per account; each account's function runs with
credentials that moto's STS issued for that account) gets one stack instance in the home region: a stack
in the emulator's CloudFormation, and one `Custom::RdsCertificateOverride` per managed region, exactly as
the generated StackSet template declares them (`rds_override_tools.stackset`). CloudFormation sends the
instance's requests to its function; here one fresh function process per account serves them in turn, as
one warm sandbox would.

The passes: deploy; a second pass (every resource updated with its same properties: no RDS write may
follow); a few regions changed by hand, which `rds-certificate-override status` must report exactly;
rotation: databases in every account-region (most on the old CA; one on an engine version without the
declared CA, one stopped; a Multi-AZ DB cluster, a pending ca-certificate-rotation), which `rotate` must
plan as arranged, apply, and then plan nothing; delete every stack instance, after which every region
holds what stood before, except the hand-changed ones, which are left alone. One summary line; the exit
status is 1 when any count falls short.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rds_override_ledger.declarations import LEDGER_PATH, Ledger
from rds_override_local import organization, rds_emulator, settings
from rds_override_local.cloud import LocalCloud, create_stack, local_cloud
from rds_override_local.cloudformation import Invocation, make_event
from rds_override_local.cloudformation.fresh_process import invoke_warm
from rds_override_tools import stackset

HOME_REGION = "us-east-1"
DECLARED = "rds-ca-rsa4096-g1"
BY_HAND = "rds-ca-ecc384-g1"
STOOD_BEFORE = "rds-ca-rsa2048-g1"
"""Set by hand, before the rollout, in every seventh account-region: the restore puts it back."""


@dataclass
class Instance:
    """One account's stack instance: its credentials, its stack, its resources' physical ids."""

    account: str
    credentials: dict[str, str]
    stack_id: str = ""
    physical_ids: dict[str, str] = field(default_factory=dict)


def credentials_for(endpoint: str, account: str) -> dict[str, str]:
    """Keys that moto's STS issued for a role of `account`: requests signed with them act in that account."""
    credentials = organization.member_session(endpoint, account).get_credentials()
    assert credentials is not None  # noqa: S101 - the session was made from explicit keys
    keys = credentials.get_frozen_credentials()
    return {
        "AWS_ACCESS_KEY_ID": str(keys.access_key),
        "AWS_SECRET_ACCESS_KEY": str(keys.secret_key),
        "AWS_SESSION_TOKEN": str(keys.token),
    }


class Rollout:
    """The StackSet's work for every account, on one emulator."""

    def __init__(self, cloud: LocalCloud, regions: Sequence[str], workers: int) -> None:
        self.cloud = cloud
        self.regions = list(regions)
        self.workers = workers
        template = stackset.generate(regions=self.regions, partition="aws").template
        self.properties = stackset.override_properties(
            template, {"CertificateIdentifier": DECLARED, "RestorePreviousOnDelete": "true"}
        )

    def client(self, instance: Instance, service: str, region: str = HOME_REGION) -> Any:
        """A client of the emulator in the instance's account."""
        return self.cloud.client(service, region, credentials=instance.credentials)

    def requests(self, instance: Instance, request_type: str) -> list[dict[str, Any]]:
        """What CloudFormation sends the instance's function for each of its overrides."""
        events = []
        for logical_id, properties in self.properties.items():
            request_id = str(uuid.uuid4())
            physical_id = instance.physical_ids.get(logical_id) if request_type != "Create" else None
            events.append(
                make_event(
                    request_type,
                    properties,
                    physical_id=physical_id,
                    old_properties=properties if request_type == "Update" else None,
                    response_url=self.cloud.server.response_url(request_id),
                    request_id=request_id,
                    logical_id=logical_id,
                    stack_id=instance.stack_id,
                )
            )
        return events

    def play(self, instance: Instance, request_type: str) -> list[Invocation]:
        env = {**self.cloud.function.env, **instance.credentials, "AWS_REGION": HOME_REGION}
        env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        return invoke_warm(
            self.requests(instance, request_type),
            server=self.cloud.server,
            code_dirs=self.cloud.function.code_dirs,
            env=env,
            python=self.cloud.function.python,
        )

    def deploy(self, instance: Instance) -> list[Invocation]:
        instance.stack_id = create_stack(
            self.client(instance, "cloudformation"),
            "StackSet-rds-certificate-override-" + uuid.uuid4().hex[:8],
        )
        invocations = self.play(instance, "Create")
        instance.physical_ids = {
            logical_id: str((invocation.response or {}).get("PhysicalResourceId", ""))
            for logical_id, invocation in zip(self.properties, invocations, strict=True)
        }
        return invocations

    def delete(self, instance: Instance) -> list[Invocation]:
        invocations = self.play(instance, "Delete")
        self.client(instance, "cloudformation").delete_stack(StackName=instance.stack_id)
        return invocations

    def each(self, instances: Sequence[Instance], step: Any) -> list[Invocation]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return [invocation for done in pool.map(step, instances) for invocation in done]

    def standing(self, account: str, region: str) -> str | None:
        return rds_emulator.current_override(account, region)

    def declared_everywhere(self, instance: Instance) -> int:
        """Regions of the account where the override is the declared CA and the ledger records it."""
        converged = 0
        for region in self.regions:
            parameters = self.client(instance, "ssm", region).get_parameters_by_path(
                Path=LEDGER_PATH, Recursive=True
            )["Parameters"]
            ledger = Ledger.parse((p["Name"], p["Value"]) for p in parameters)
            declared = [d.certificate for d in ledger.declarations if not d.withdrawn]
            converged += self.standing(instance.account, region) == DECLARED and declared == [DECLARED]
        return converged


def run(
    cloud: LocalCloud,
    *,
    accounts: int,
    region_count: int,
    drift: int,
    workers: int,
    seed: int,
    databases: int = 6,
) -> int:
    started = time.monotonic()
    chosen_regions = stackset.choose_regions(None)[:region_count]
    rollout = Rollout(cloud, chosen_regions, workers)
    instances = [
        Instance(a, credentials_for(cloud.rds_endpoint, a)) for a in organization.account_ids(accounts)
    ]
    total = accounts * len(chosen_regions)
    cells = [(i.account, r) for i in instances for r in chosen_regions]
    stood_before = {cell: STOOD_BEFORE for n, cell in enumerate(cells) if n % 7 == 3}
    for (account, region), certificate in stood_before.items():
        rds_emulator.set_override(account, region, certificate)

    print(f"==> deploying {accounts} stack instances x {len(chosen_regions)} regions", flush=True)
    created = rollout.each(instances, rollout.deploy)
    failed = [i.response for i in created if (i.response or {}).get("Status") != "SUCCESS"]
    converged = sum(rollout.declared_everywhere(instance) for instance in instances)
    print(f"    {len(created) - len(failed)}/{len(created)} SUCCESS", flush=True)

    print("==> second pass (every resource updated with its own properties)", flush=True)
    rds_emulator.reset_calls()
    rollout.each(instances, lambda instance: rollout.play(instance, "Update"))
    writes = sum(call.action == "ModifyCertificates" for call in rds_emulator.calls())

    print(f"==> {drift} regions changed by hand; status over {total} account-regions", flush=True)
    by_hand = random.Random(seed).sample(cells, drift)  # noqa: S311 - a reproducible choice, not a secret
    for account, region in by_hand:
        rds_emulator.set_override(account, region, BY_HAND)
    account_ids = [i.account for i in instances]
    status = organization.run_status(cloud.rds_endpoint, account_ids, chosen_regions)
    rows = status.report["rows"]
    flagged = {(row["account"], row["region"]) for row in rows if row["state"] != "in-sync"}
    drift_found = sum(
        1 for row in rows if row["state"] == "drift" and (row["account"], row["region"]) in by_hand
    )
    print(f"    status: {status.wall_s:.1f} s, flagged {len(flagged)}", flush=True)

    print(
        f"==> rotation: {databases} databases per account-region, most on {organization.OLD_CA}", flush=True
    )
    arranged = organization.populate_databases(
        cloud.rds_endpoint, account_ids, chosen_regions, per_region=databases, target=DECLARED
    )
    plan = organization.run_rotate(cloud.rds_endpoint, account_ids, chosen_regions)
    applied = organization.run_rotate(
        cloud.rds_endpoint, account_ids, chosen_regions, extra_args=["--apply", "--yes"]
    )
    second = organization.run_rotate(cloud.rds_endpoint, account_ids, chosen_regions)
    planned = plan.report["counts"]["databases"]
    rotation_ok = (
        plan.outcomes() == arranged.expected(total)
        and applied.outcomes().get("applied", 0) == planned
        and second.report["counts"]["databases"] == 0
    )
    print(
        f"    rotate: plan {plan.wall_s:.1f} s, apply {applied.wall_s:.1f} s, "
        f"second plan {second.wall_s:.1f} s",
        flush=True,
    )

    print(f"==> deleting {accounts} stack instances", flush=True)
    rollout.each(instances, rollout.delete)
    expected = {cell: stood_before.get(cell) for cell in cells} | {cell: BY_HAND for cell in by_hand}
    clean = sum(rollout.standing(account, region) == expected[(account, region)] for account, region in cells)

    wall = time.monotonic() - started
    print(
        f"org rollout: {accounts} accounts x {len(chosen_regions)} regions: converged {converged}/{total}, "
        f"second pass writes {writes}, drift found {drift_found}/{drift}, deleted clean {clean}/{total}, "
        f"rotation: planned {planned}, applied {applied.outcomes().get('applied', 0)}, "
        f"skipped {plan.report['counts']['skipped']}, second plan {second.report['counts']['databases']}, "
        f"wall {wall:.0f} s"
    )
    extra = flagged - set(by_hand)
    if extra:
        print(f"status flagged regions that were not changed: {sorted(extra)[:10]}")
    if not rotation_ok:
        print(
            f"rotation: plan {plan.outcomes()}, expected {arranged.expected(total)}; "
            f"apply {applied.outcomes()}"
        )
    ok = (
        converged == total
        and writes == 0
        and drift_found == drift
        and not extra
        and clean == total
        and rotation_ok
    )
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument(
        "--region-count", type=int, default=17, help="how many of the default regions (17 at most)"
    )
    parser.add_argument("--drift", type=int, default=5, help="account-regions changed by hand")
    parser.add_argument("--workers", type=int, default=4, help="stack instances deployed at the same time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--databases", type=int, default=6, help="databases per account-region for the rotation phase (6+)"
    )
    parser.add_argument("--python", default=os.environ.get("RUNTIME_PYTHON") or None)
    args = parser.parse_args(argv)
    default_regions = len(stackset.choose_regions(None))
    if not 1 <= args.region_count <= default_regions:
        parser.error(f"--region-count must be between 1 and {default_regions}")
    if args.databases < 6:
        parser.error("--databases must be 6 or more (one of each kind)")
    if args.accounts < 1 or not 0 <= args.drift <= args.accounts * args.region_count:
        parser.error("--accounts must be 1 or more, --drift between 0 and accounts x region count")
    code_dirs = [str(settings.ARTIFACT), str(settings.RUNTIME_SDK)]
    with local_cloud(code_dirs, python=args.python, region=HOME_REGION) as cloud:
        return run(
            cloud,
            accounts=args.accounts,
            region_count=args.region_count,
            drift=args.drift,
            workers=args.workers,
            seed=args.seed,
            databases=args.databases,
        )


if __name__ == "__main__":
    sys.exit(main())
