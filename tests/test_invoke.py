"""`make invoke EVENT=...` (tools/invoke.py): one event, the built function: the answer to CloudFormation."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import invoke

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / ".aws-sam" / "build" / "RdsCertificateOverrideFunction"
RUNTIME_SDK = ROOT / "build" / "lambda-runtime-sdk"
EVENTS = sorted((ROOT / "events").glob("*.json"))

pytestmark = pytest.mark.e2e


def run(event: Path, *options: str) -> int:
    for path in (ARTIFACT, RUNTIME_SDK):
        assert path.is_dir(), f"{path} is missing: run the tests with `make test`, which builds it"
    return invoke.main([str(event), "--artifact", str(ARTIFACT), "--runtime-sdk", str(RUNTIME_SDK), *options])


@pytest.mark.parametrize("event", EVENTS, ids=lambda path: path.stem)
def test_each_sample_event_answers_success(event: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(event) == 0
    out = capsys.readouterr().out
    request = json.loads(event.read_text())
    assert out.splitlines()[1] == "SUCCESS"
    physical_id = request.get("PhysicalResourceId", "rds-certificate-override:v1:eu-west-1:-:")
    assert re.search(rf"^    PhysicalResourceId +{re.escape(physical_id)}", out, re.MULTILINE)
    assert "X-Amz-Signature" not in out


def test_a_delete_removes_the_override_its_create_left(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ROOT / "events" / "delete.json") == 0
    out = capsys.readouterr().out
    assert re.search(r"RDS before +DefaultCertificateForNewLaunches = rds-ca-ecc384-g1 \(override\)", out)
    assert re.search(
        r"RDS after +DefaultCertificateForNewLaunches = rds-ca-rsa2048-g1 \(system default\)", out
    )


def test_a_failed_request_prints_failed_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = json.loads((ROOT / "events" / "create.json").read_text())
    event["ResourceProperties"]["CertificateIdentifier"] = "rds-ca-rsa4096"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(event))
    assert run(path) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "FAILED"
    assert out[2].startswith("    Reason")
    assert "'rds-ca-rsa4096' is not an RDS CA certificate in this region" in out[2]


def test_a_file_that_is_not_a_request_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "not-an-event.json"
    path.write_text('{"RequestType": "Replace"}')
    with pytest.raises(SystemExit, match="RequestType must be Create, Update or Delete"):
        run(path)


def test_make_invoke_plays_the_event_it_is_given() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "invoke", "EVENT=events/update.json"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nSUCCESS\n" in result.stdout
    assert "rds-ca-ecc384-g1 (override)" in result.stdout
