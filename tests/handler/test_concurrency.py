"""Concurrent events for one region, as several stacks deploying at once would send them: the built
artifact in fresh processes at the same time, on the emulator (moto's SSM and CloudFormation included).

Whatever order the region's lock grants, the end must be consistent: one CA declared, the override that CA,
the ledger exactly the resources that were told SUCCESS, and no lock left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from handler_support import lock_generations, lock_is_free
from rds_override_local import settings
from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.cloudformation import CloudFormation

pytestmark = pytest.mark.e2e

RSA4096 = {"CertificateIdentifier": "rds-ca-rsa4096-g1"}
ECC384 = {"CertificateIdentifier": "rds-ca-ecc384-g1"}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    code_dirs = [str(settings.ARTIFACT), str(settings.RUNTIME_SDK)]
    with local_cloud(code_dirs, python=os.environ.get("RUNTIME_PYTHON") or None) as local:
        yield local


def ledger(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    pages = (
        cloud.client("ssm")
        .get_paginator("get_parameters_by_path")
        .paginate(Path="/rds-certificate-override/declarations", Recursive=True)
    )
    entries = {p["Name"]: json.loads(p["Value"]) for page in pages for p in page["Parameters"]}
    return {name: value for name, value in entries.items() if value["State"] != "withdrawn"}


def standing_override(cloud: LocalCloud) -> str | None:
    certificates = cloud.rds().describe_certificates()["Certificates"]
    return next((c["CertificateIdentifier"] for c in certificates if c.get("CustomerOverride")), None)


def test_concurrent_creates_and_deletes_of_one_region_end_consistent(cloud: LocalCloud) -> None:
    stacks = [cloud.stack(f"team-{n}") for n in range(6)]
    wanted = [RSA4096, ECC384] * 3

    def create(pair: tuple[CloudFormation, dict[str, str]]) -> dict[str, Any]:
        stack, properties = pair
        return stack.send("Create", properties).answer

    with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
        answers = list(pool.map(create, zip(stacks, wanted, strict=True)))

    succeeded = [
        (stack, props, a)
        for stack, props, a in zip(stacks, wanted, answers, strict=True)
        if a["Status"] == "SUCCESS"
    ]
    refused = [a for a in answers if a["Status"] == "FAILED"]
    winners = {props["CertificateIdentifier"] for _, props, _ in succeeded}
    assert len(winners) == 1, f"one CA must win, not {winners}"
    (winner,) = winners
    assert len(succeeded) == 3 and len(refused) == 3, answers
    assert all("conflicts with" in a["Reason"] for a in refused), [a["Reason"] for a in refused]
    assert standing_override(cloud) == winner
    recorded = ledger(cloud)
    assert sorted(d["StackId"] for d in recorded.values()) == sorted(s.stack_id for s, _, _ in succeeded)
    assert {d["CertificateIdentifier"] for d in recorded.values()} == {winner}
    assert {d["State"] for d in recorded.values()} == {"applied"}
    assert len({d["PreviousOverride"] for d in recorded.values()}) == 1, "one 'what stood before' for all"

    def delete(item: tuple[CloudFormation, dict[str, str], dict[str, Any]]) -> dict[str, Any]:
        stack, props, answer = item
        return stack.send("Delete", props, physical_id=answer["PhysicalResourceId"]).answer

    with ThreadPoolExecutor(max_workers=len(succeeded)) as pool:
        deleted = list(pool.map(delete, succeeded))
    assert [a["Status"] for a in deleted] == ["SUCCESS"] * len(succeeded)
    assert standing_override(cloud) is None, "the last one out removes the override"
    assert ledger(cloud) == {}, "no declaration left behind"
    assert lock_is_free(ssm=cloud.client("ssm")), "no lock left behind"
    generations = lock_generations(cloud.client("ssm"))
    assert len(generations) == 2 * (len(stacks) + len(succeeded)), "a generation taken and one freed each"
