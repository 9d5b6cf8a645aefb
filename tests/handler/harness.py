"""What the handler tests share: the emulator's account and regions, sample properties, and log reading.

In-process, `index.handler` runs in this process under moto's mock_aws with the RDS certificate emulator,
sent its requests through `CloudFormation` with an `InProcessFunction` (the `cfn` fixture, conftest.py);
the built artifact runs in fresh processes through `LocalCloud` (`local_cloud`).
"""

from __future__ import annotations

import io
import json
from typing import Any

from rds_override_tools.local import rds_emulator as emulator
from rds_override_tools.local import settings
from rds_override_tools.local.cloudformation import CloudFormation, Invocation

ACCOUNT = settings.ACCOUNT_ID
REGION = settings.REGION  # the function's region (conftest.py)
OTHER_REGION = settings.OTHER_REGION
SIGNATURE = "S3cr3tSignatureThatMustNeverBeLogged"
V1 = settings.V1
V2 = settings.V2

__all__ = ["ACCOUNT", "OTHER_REGION", "REGION", "SIGNATURE", "V1", "V2", "CloudFormation", "Invocation"]


def override(region: str = REGION) -> str | None:
    return emulator.current_override(ACCOUNT, region)


def rds_calls() -> list[emulator.RDSCall]:
    """The RDS calls of the last request, as `RDSCall(region, action)` (what `cfn.rds_calls()` returns)."""
    return emulator.calls()


def records(stream: io.StringIO, level: str) -> list[dict[str, Any]]:
    """The JSON log records of one level that the handler wrote to `stream`."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if f'"level":"{level}"' in line]
