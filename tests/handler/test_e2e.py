"""End to end: the built artifact (`make build`), run as Lambda would, answering over HTTPS, on the emulator.

Each invocation is a fresh Python process (the runtime's Python when the machine has it) whose path holds only
the artifact and boto3, so a missing dependency or a module the artifact forgot fails here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.demo import run_demo
from rds_override_local.settings import ARTIFACT, RUNTIME_SDK, V1

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def code_dirs() -> list[str]:
    for path in (ARTIFACT, RUNTIME_SDK):
        assert path.is_dir(), f"{path} is missing: run the tests with `make test`, which builds it"
    return [str(ARTIFACT), str(RUNTIME_SDK)]


@pytest.fixture
def stack(code_dirs: list[str]) -> Iterator[LocalCloud]:
    with local_cloud(code_dirs, python=os.environ.get("RUNTIME_PYTHON") or None) as local:
        yield local


def test_the_demo_lifecycle(stack: LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(stack) == []
    printed = [*capsys.readouterr().out.splitlines(), "", DEMO_OK]
    shown = readme_demo_excerpt()
    # The docs' lines (docs/local.md), in order, among the printed ones: an excerpt of what the demo prints.
    remaining = iter(printed)
    missing = [line for line in shown if not any(_pattern(line).fullmatch(out) for out in remaining)]
    assert missing == [], "\n".join(printed)


DEMO_OK = "Demo OK: every answer and every override was what CloudFormation and the other team expect."
_PLACEHOLDERS = {"<s>": r"\d+\.\d\d", "<digest>": "[0-9a-f]{12}"}


def readme_demo_excerpt() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "docs" / "local.md").read_text()
    start = readme.index("```\nRegion eu-west-1: ") + 4
    return readme[start : readme.index("```", start)].splitlines()


def _pattern(line: str) -> re.Pattern[str]:
    pattern = re.escape(line)
    for placeholder, regex in _PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape(placeholder), regex)
    return re.compile(pattern)


def test_the_artifact_ships_the_handler_and_its_dependencies_but_not_the_sdk() -> None:
    names = {path.name for path in ARTIFACT.iterdir()}
    assert {"index.py", "override.py", "rds_certificates.py", "cfn_resource.py"} <= names
    assert {"crhelper", "aws_lambda_powertools"} <= names
    assert not names & {"boto3", "botocore", "s3transfer"}


@pytest.mark.skipif(
    not os.environ.get("RUNTIME_PYTHON"), reason="the runtime's Python is not on this machine"
)
def test_the_artifact_has_bytecode_for_the_runtime_only() -> None:
    tag = "cpython-" + os.environ["RUNTIME_VERSION"].replace(".", "")
    assert (ARTIFACT / "__pycache__" / f"index.{tag}.pyc").is_file()
    assert {path.name.split(".")[-2] for path in ARTIFACT.rglob("*.pyc")} == {tag}


def test_no_log_line_holds_the_response_url_at_debug(stack: LocalCloud) -> None:
    stack.function.env["POWERTOOLS_LOG_LEVEL"] = "DEBUG"
    created = stack.demo_stack.send("Create", V1)
    physical_id = created.response["PhysicalResourceId"]
    invocations = [
        created,
        stack.demo_stack.send(
            "Update", {"CertificateIdentifier": "rds-ca-2019"}, physical_id=physical_id, old_properties=V1
        ),
        stack.demo_stack.send("Delete", V1, physical_id=physical_id),
        stack.demo_stack.send("Create", {"CertificateIdentifer": "typo"}),
    ]
    assert '"level":"DEBUG"' in created.logs, "the function must really log at DEBUG"
    for invocation in invocations:
        assert invocation.response is not None
        signature = stack.server.signature(invocation.request_id)
        assert signature
        assert signature not in invocation.logs
        assert "cloudformation-custom-resource-response" not in invocation.logs


def test_an_init_failure_answers_failed_with_a_physical_id(stack: LocalCloud) -> None:
    invocation = stack.demo_stack.send("Create", V1, env={"AWS_REGION": "", "AWS_DEFAULT_REGION": ""})
    assert invocation.response is not None
    assert invocation.response["Status"] == "FAILED"
    assert "AWS_REGION is not set" in invocation.response["Reason"]
    assert invocation.response["PhysicalResourceId"].startswith("rds-certificate-override:create-failed:")


def test_a_failed_put_of_the_answer_is_retried(stack: LocalCloud) -> None:
    stack.server.fail_next(1, "http500")
    stack.server.fail_next(1, "reset")
    invocation = stack.demo_stack.send("Create", V1)
    assert invocation.response is not None
    assert invocation.response["Status"] == "SUCCESS"
    assert stack.server.failed_attempts(invocation.request_id) == 2
    assert len(invocation.responses) == 1
