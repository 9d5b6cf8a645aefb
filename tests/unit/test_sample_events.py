"""events/*.json, the sample CloudFormation requests, stay valid for the handler's contract."""

import json
from pathlib import Path

import pytest

from override import PhysicalId, parse_properties, stack_digest

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


def test_there_is_a_sample_of_each_request_type() -> None:
    assert [json.loads(path.read_text())["RequestType"] for path in EVENTS] == ["Create", "Delete", "Update"]


@pytest.mark.parametrize("path", EVENTS, ids=lambda path: path.stem)
def test_a_sample_event_is_valid(path: Path) -> None:
    event = json.loads(path.read_text())
    assert event["ResponseURL"].startswith("https://")
    for key in ("ResourceProperties", "OldResourceProperties"):
        if key in event:
            assert all(isinstance(value, str) for value in event[key].values()), (
                "CloudFormation sends strings"
            )
            parse_properties(event[key], default_region="eu-west-1")
    if event["RequestType"] != "Create":
        physical_id = PhysicalId.parse(event["PhysicalResourceId"])
        assert physical_id is not None
        # The id the Create of this very resource answered (`make invoke` plays that Create first).
        assert physical_id.stack_digest == stack_digest(event["StackId"], event["LogicalResourceId"])
