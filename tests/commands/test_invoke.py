"""`make invoke EVENT=...` (rds_override_local.play_event): one event to the built function, its answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from rds_override_local import play_event, settings

ROOT = settings.REPOSITORY
ARTIFACT = settings.ARTIFACT
RUNTIME_SDK = settings.RUNTIME_SDK
EVENTS = sorted((ROOT / "events").glob("*.json"))

pytestmark = pytest.mark.e2e


def run(event: Path, *options: str) -> int:
    for path in (ARTIFACT, RUNTIME_SDK):
        assert path.is_dir(), f"{path} is missing: run the tests with `make test`, which builds it"
    return play_event.main(
        [str(event), "--artifact", str(ARTIFACT), "--runtime-sdk", str(RUNTIME_SDK), *options]
    )


def the_answer(out: str) -> list[str]:
    """The lines from the event's answer (SUCCESS or FAILED) on."""
    lines = out.splitlines()
    starts = [index for index, line in enumerate(lines) if line in ("SUCCESS", "FAILED")]
    assert starts, out
    return lines[starts[0] :]


@pytest.mark.parametrize("event", EVENTS, ids=lambda path: path.stem)
def test_each_sample_event_answers_success(event: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(event) == 0
    out = capsys.readouterr().out
    request = json.loads(event.read_text())
    answer = "\n".join(the_answer(out))
    assert answer.startswith("SUCCESS\n")
    physical_id = request.get("PhysicalResourceId", "rds-certificate-override:v1:eu-west-1:-:")
    assert re.search(rf"^    PhysicalResourceId +{re.escape(physical_id)}", answer, re.MULTILINE)
    assert "X-Amz-Signature" not in out


@pytest.mark.parametrize("event", ["update.json", "delete.json"])
def test_an_update_or_a_delete_first_plays_the_create_that_made_the_resource(
    event: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ROOT / "events" / event) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        "first, the Create that made the resource (CertificateIdentifier="
        f"{'rds-ca-rsa4096-g1' if event == 'update.json' else 'rds-ca-ecc384-g1'}): SUCCESS"
    )
    # The sample's physical id is the one that Create answers: no note says otherwise.
    assert lines[2] == "SUCCESS"


def test_a_create_answers_and_plays_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ROOT / "events" / "create.json") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "SUCCESS"


def test_an_update_finds_the_declaration_of_its_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ROOT / "events" / "update.json") == 0
    answer = "\n".join(the_answer(capsys.readouterr().out))
    assert re.search(r"RDS before +DefaultCertificateForNewLaunches = rds-ca-rsa4096-g1 \(override\)", answer)
    assert re.search(r"RDS after +DefaultCertificateForNewLaunches = rds-ca-ecc384-g1 \(override\)", answer)
    # What the Create found standing (the system default), not the override that Create set.
    assert re.search(r"^    Data\.PreviousCertificateIdentifier +\(empty\)$", answer, re.MULTILINE)


def test_a_delete_removes_the_override_its_create_left(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ROOT / "events" / "delete.json") == 0
    answer = "\n".join(the_answer(capsys.readouterr().out))
    assert re.search(r"RDS calls +DescribeCertificates, ModifyCertificates$", answer, re.MULTILINE)
    assert re.search(r"RDS before +DefaultCertificateForNewLaunches = rds-ca-ecc384-g1 \(override\)", answer)
    assert re.search(
        r"RDS after +DefaultCertificateForNewLaunches = rds-ca-rsa2048-g1 \(system default\)", answer
    )


def test_an_override_set_by_hand_stands_before_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ROOT / "events" / "create.json", "--override", "rds-ca-rsa2048-g1") == 0
    out = capsys.readouterr().out
    assert "    (set by hand first: the override rds-ca-rsa2048-g1)" in out.splitlines()
    answer = "\n".join(the_answer(out))
    assert re.search(r"RDS before +DefaultCertificateForNewLaunches = rds-ca-rsa2048-g1 \(override\)", answer)
    assert re.search(r"^    Data\.PreviousCertificateIdentifier +rds-ca-rsa2048-g1$", answer, re.MULTILINE)


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
    assert "first, the Create that made the resource" in result.stdout
    assert "\nSUCCESS\n" in result.stdout
    assert "rds-ca-ecc384-g1 (override)" in result.stdout
