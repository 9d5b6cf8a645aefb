"""`make status-demo` (rds_override_local.status_demo): the fleet report on the emulator, findings shown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rds_override_local import settings


def status_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "rds_override_local.status_demo", *args],
        cwd=settings.REPOSITORY,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_it_shows_the_command_and_a_report_with_every_finding() -> None:
    result = status_demo()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("$ rds-certificate-override status --endpoint-url http://127.0.0.1:")
    assert lines[0].endswith(
        "--accounts 100000000001,100000000002,100000000003,100000000004 --role-name "
        "RdsCertificateOverrideAudit --regions eu-central-1,eu-west-1,us-east-1"
    )
    assert lines[1].split()[:4] == ["ACCOUNT", "REGION", "STATE", "DEFAULT"]
    states = [line.split()[2] for line in lines[2:14]]
    assert sorted(states) == sorted(["in-sync"] * 6 + ["drift"] * 2 + ["undeclared"] + ["stale"] * 3)
    assert lines[14:16] == ["", "NOTES"]
    assert "100000000001 us-east-1: orders expires " in result.stdout  # an instance's server certificate
    assert (
        lines[-2]
        == "12 account-regions: 6 in-sync, 2 drift, 1 undeclared, 3 stale, 0 expired-ca, 0 unreadable"
    )
    assert lines[-1].startswith("(the emulator on 127.0.0.1: 4 accounts x 3 regions, arranged with 2 drift,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "2"], "--accounts 4 or more"),
        (["--regions", "eu-west-1,eu-wst-9"], "--regions eu-wst-9: not an RDS region of the aws partition"),
        (["--regions", "eu-west-1 eu-wst-9"], "--regions eu-wst-9: not an RDS region of the aws partition"),
        (["--regions", "eu-west-1;us-east-1"], "--regions: cannot read 'eu-west-1;us-east-1' as a region"),
    ],
)
def test_bad_input_is_refused_naming_the_option(args: list[str], message: str) -> None:
    result = status_demo(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
