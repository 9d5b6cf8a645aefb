"""Set-up of the handler tests. Runs before any test module here imports the handler (`index`)."""

import os

from rds_override_local import settings

# Nothing may reach real AWS: drop whatever the developer's shell has, then set dummy credentials and the
# function's region. crhelper builds boto3 clients when `index` is imported, so this must come first.
for _name in [name for name in os.environ if name.startswith("AWS_")]:
    del os.environ[_name]
os.environ.update(
    settings.ISOLATED_AWS_ENVIRONMENT,
    AWS_REGION=settings.REGION,
    POWERTOOLS_SERVICE_NAME=settings.SERVICE_NAME,
)


# Imported only now: the handler reads the environment above when it is imported.
import io  # noqa: E402
import logging  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from botocore.retries.standard import ExponentialBackoff  # noqa: E402
from moto import mock_aws  # noqa: E402

import cfn_resource  # noqa: E402
import index  # noqa: E402
from handler_support import SIGNATURE  # noqa: E402
from rds_override_local import rds_emulator  # noqa: E402
from rds_override_local.cloudformation import CloudFormation, InProcessFunction  # noqa: E402


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What Powertools (and crhelper, through the handler it shares) writes, as Lambda would see it."""
    stream = io.StringIO()
    monkeypatch.setattr(index.logger.registered_handler, "stream", stream)
    return stream


@pytest.fixture
def cfn(monkeypatch: pytest.MonkeyPatch, json_logs: io.StringIO) -> Iterator[CloudFormation]:
    """The handler in this process, on the emulator under mock_aws, its answers captured, logging at DEBUG.

    Every request must get exactly one answer that CloudFormation accepts (`check_answers`).

    Whatever the test does, the presigned ResponseURL's signature must not reach the log.
    """
    rds_emulator.install()
    function = InProcessFunction(index.handler, signature=SIGNATURE)
    monkeypatch.setattr(cfn_resource, "put_response", function.put_response)
    # The SDK's retries run as configured, without their (random, up to 20 s) sleeps.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0)
    index.logger.setLevel(logging.DEBUG)
    try:
        with mock_aws():
            yield CloudFormation(function, check_answers=True)
    finally:
        index.logger.setLevel(logging.INFO)
    assert SIGNATURE not in json_logs.getvalue()
