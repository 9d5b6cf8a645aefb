"""What the handler tests share: the emulator's account and regions, sample properties, and log reading.

In-process, `index.handler` runs in this process under moto's mock_aws with the RDS certificate emulator,
sent its requests through `CloudFormation` with an `InProcessFunction` (the `cfn` fixture, conftest.py);
the built artifact runs in fresh processes through `LocalCloud` (`local_cloud`).
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import boto3

from rds_override_ledger.declarations import LEDGER_PATH, Ledger, LockHolder, LockState, TakeLock, decide_lock
from rds_override_local import cloud, settings
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloudformation import CloudFormation, Invocation

ACCOUNT = settings.ACCOUNT_ID
REGION = settings.REGION  # the function's region (conftest.py)
OTHER_REGION = settings.OTHER_REGION
SIGNATURE = "S3cr3tSignatureThatMustNeverBeLogged"
V1 = settings.V1
V2 = settings.V2

__all__ = ["ACCOUNT", "OTHER_REGION", "REGION", "SIGNATURE", "V1", "V2", "CloudFormation", "Invocation"]


def create_stack(name: str, region: str = REGION) -> str:
    """A stack in moto's CloudFormation (under mock_aws), so that the function can tell it is live."""
    return cloud.create_stack(boto3.client("cloudformation", region_name=region), name)


def delete_stack(stack_id: str) -> None:
    """The stack is deleted without a Delete request for the override (DeletionPolicy: Retain)."""
    boto3.client("cloudformation", region_name=stack_id.split(":")[3]).delete_stack(StackName=stack_id)


def entries(region: str = REGION) -> dict[str, dict[str, Any]]:
    """Every entry under the declarations path of the region, by parameter name."""
    ssm = boto3.client("ssm", region_name=region)
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/rds-certificate-override/declarations", Recursive=True
    )
    return {p["Name"]: _json_or_text(p["Value"]) for page in pages for p in page["Parameters"]}


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # an entry edited by hand


def ledger(region: str = REGION) -> dict[str, dict[str, Any]]:
    """The declarations recorded for the region, by parameter name (withdrawals declare nothing)."""
    return {
        name: value
        for name, value in entries(region).items()
        if isinstance(value, dict) and value.get("State") != "withdrawn"
    }


def withdrawals(region: str = REGION) -> dict[str, str]:
    """The withdrawals recorded for the region: parameter name -> the failed Create's RequestId."""
    return {
        name: v["RequestId"]
        for name, v in entries(region).items()
        if isinstance(v, dict) and v.get("State") == "withdrawn"
    }


def lock_generations(ssm: Any) -> dict[int, str]:
    """The region lock's generations (number -> value), read with the SSM client `ssm`."""
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=LEDGER_PATH, Recursive=False)
    parameters = ((p["Name"], p["Value"]) for page in pages for p in page["Parameters"])
    return dict(Ledger.parse(parameters).lock.generations)


def lock_is_free(region: str = REGION, ssm: Any = None, now: float | None = None) -> bool:
    """Whether a newcomer would take the region's lock at once (the lock's own rule decides)."""
    state = LockState(lock_generations(ssm or boto3.client("ssm", region_name=region)))
    newcomer = LockHolder("newcomer", "Override", "r")
    return isinstance(decide_lock(state, newcomer, time.time() if now is None else now), TakeLock)


def declaration_name(stack_id: str, logical_id: str = settings.LOGICAL_ID) -> str:
    name, uuid = stack_id.split("/")[1:]
    return f"/rds-certificate-override/declarations/{name}/{uuid}/{logical_id}"


def for_stack(cfn: CloudFormation, stack_id: str, logical_id: str = settings.LOGICAL_ID) -> CloudFormation:
    """The requests of a resource of another stack, to the same function."""
    return CloudFormation(cfn.function, stack_id=stack_id, logical_id=logical_id, check_answers=True)


def override(region: str = REGION) -> str | None:
    return emulator.current_override(ACCOUNT, region)


def rds_calls() -> list[emulator.RDSCall]:
    """The RDS calls of the last request, as `RDSCall(region, action)` (what `cfn.rds_calls()` returns)."""
    return emulator.calls()


def records(stream: io.StringIO, level: str) -> list[dict[str, Any]]:
    """The JSON log records of one level that the handler wrote to `stream`."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if f'"level":"{level}"' in line]
