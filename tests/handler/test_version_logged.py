"""The release version (lambda/version.py) is in the first log line of every request."""

from __future__ import annotations

import io
import json

import pytest

from handler_support import V1, CloudFormation
from version import __version__


@pytest.mark.parametrize("request_type", ["Create", "Delete"])
def test_the_first_log_line_of_a_request_names_the_version(
    cfn: CloudFormation, json_logs: io.StringIO, request_type: str
) -> None:
    physical_id = None if request_type == "Create" else "rds-certificate-override:create-failed:x"
    cfn.send(request_type, V1, physical_id=physical_id)
    first = json.loads(json_logs.getvalue().splitlines()[0])
    assert first["message"] == "CloudFormation request"
    assert first["version"] == __version__
