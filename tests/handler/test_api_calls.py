"""Every AWS call each request makes, counted by botocore's client-side monitoring in the function's own
fresh process (tools/bench.py reports the same figures), and one warm process serving several requests."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import pytest

from handler_support import lock_generations
from rds_override_local import settings
from rds_override_local.api_calls import ApiCall, ApiCallRecorder, api_call_recorder
from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.cloudformation.fresh_process import invoke_warm

pytestmark = pytest.mark.e2e

READ_LOCK = ApiCall("SSM", "GetParametersByPath")  # the lock's generations
LOCK = ApiCall("SSM", "PutParameter")  # create-only: the lock's next generation
READ = ApiCall("SSM", "GetParametersByPath")  # the declarations, once the lock is held
RECORD = ApiCall("SSM", "PutParameter")
DESCRIBE = ApiCall("RDS", "DescribeCertificates")
MODIFY = ApiCall("RDS", "ModifyCertificates")
WITHDRAW = ApiCall("SSM", "PutParameter")  # the declaration replaced by its withdrawal
UNLOCK = ApiCall("SSM", "PutParameter")  # create-only: the next generation, free
STACK = ApiCall("CloudFormation", "DescribeStacks")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    code_dirs = [str(settings.ARTIFACT), str(settings.RUNTIME_SDK)]
    with local_cloud(code_dirs, python=os.environ.get("RUNTIME_PYTHON") or None) as local:
        yield local


@pytest.fixture
def recorder() -> Iterator[ApiCallRecorder]:
    with api_call_recorder() as calls:
        yield calls


def test_the_calls_of_each_request(cloud: LocalCloud, recorder: ApiCallRecorder) -> None:
    team_a, team_b = cloud.stack("team-a"), cloud.stack("team-b")
    env = recorder.env
    created = team_a.send("Create", settings.V1, env=env).answer
    assert recorder.take() == [READ_LOCK, LOCK, READ, DESCRIBE, RECORD, MODIFY, RECORD, UNLOCK]
    team_b_id = team_b.send("Create", settings.V1, env=env).answer["PhysicalResourceId"]
    assert recorder.take() == [READ_LOCK, LOCK, READ, DESCRIBE, STACK, RECORD, UNLOCK], (
        "joining writes nothing to RDS; it copies what stood before from a live declaration"
    )
    team_b.send("Update", settings.V1, physical_id=team_b_id, old_properties=settings.V1, env=env)
    assert recorder.take() == [READ_LOCK, LOCK, READ, DESCRIBE, UNLOCK], (
        "an unchanged declaration writes nothing (this stand-in's ResponseURL is of the SigV2 form, which "
        "does not say when the request was sent; with SigV4 a newer request stamps it: one PutParameter)"
    )
    team_b.send("Delete", settings.V1, physical_id=team_b_id, env=env)
    assert recorder.take() == [READ_LOCK, LOCK, READ, STACK, WITHDRAW, UNLOCK], "team-a still declares it"
    team_a.send("Delete", settings.V1, physical_id=created["PhysicalResourceId"], env=env)
    assert recorder.take() == [READ_LOCK, LOCK, READ, DESCRIBE, MODIFY, WITHDRAW, UNLOCK]
    updated = team_a.send("Create", settings.V1, env=env).answer
    team_a.send(
        "Update", settings.V2, physical_id=updated["PhysicalResourceId"], old_properties=settings.V1, env=env
    )
    recorder.take()
    # The lock's generations stay until no invocation that read an older one can run (16 minutes): by now
    # the lock's read takes a page for every 10 of them.
    pages = math.ceil(len(lock_generations(cloud.client("ssm"))) / 10)
    team_a.send(
        "Update", settings.V1, physical_id=updated["PhysicalResourceId"], old_properties=settings.V2, env=env
    )
    assert pages == 2
    assert recorder.take() == [READ_LOCK] * pages + [LOCK, READ, DESCRIBE, RECORD, MODIFY, RECORD, UNLOCK], (
        "a writing Update: 8, and a page of the lock's read for every 10 generations"
    )


def test_one_warm_process_serves_several_requests(cloud: LocalCloud) -> None:
    team_a = cloud.stack("team-a")
    events = [
        team_a.event("Create", {**settings.V1, "Region": region}) for region in ("eu-west-1", "us-east-1")
    ]
    invocations = invoke_warm(
        events, server=cloud.server, code_dirs=cloud.function.code_dirs, env=cloud.function.env
    )
    assert [invocation.answer["Status"] for invocation in invocations] == ["SUCCESS", "SUCCESS"]
    assert invocations[0].stdout.count("START RequestId") == 2, "one process, two invocations"
