"""`make simulate-org` at a small scale: the rollout, the second pass, status finding the hand changes, the
rotation (plan, apply, second plan), and the deletion back to what stood before, with the summary line the
issues name."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from rds_override_local import settings, simulate
from rds_override_local.cloud import local_cloud

pytestmark = pytest.mark.e2e

SUMMARY = re.compile(
    r"^org rollout: 2 accounts x 3 regions: converged 6/6, second pass writes 0, drift found 2/2, "
    r"deleted clean 6/6, rotation: planned 18, applied 18, skipped 12, second plan 0, wall \d+ s$",
    re.MULTILINE,
)


def test_a_small_organization_rollout(capsys: pytest.CaptureFixture[str]) -> None:
    code_dirs = [str(settings.ARTIFACT), str(settings.RUNTIME_SDK)]
    python = os.environ.get("RUNTIME_PYTHON") or None
    with local_cloud(code_dirs, python=python, region=simulate.HOME_REGION) as cloud:
        code = simulate.run(cloud, accounts=2, region_count=3, drift=2, workers=2, seed=3)
    out = capsys.readouterr().out
    assert SUMMARY.search(out), out
    assert code == 0


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "REGION"))}
    return subprocess.run(  # noqa: S603 - make and its arguments, from the tests
        ["make", "--no-print-directory", *args],  # noqa: S607 - make from PATH
        cwd=settings.REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_region_count_is_how_many_regions() -> None:
    result = _make("-n", "simulate-org", "REGION_COUNT=3", "ACCOUNTS=2")
    assert result.returncode == 0, result.stderr
    assert "rds_override_local.simulate --accounts 2 --region-count 3" in result.stdout


def test_a_count_given_as_regions_stops_make_naming_region_count() -> None:
    result = _make("simulate-org", "REGIONS=5")
    assert result.returncode == 2
    assert "simulate-org: REGIONS is a list of regions (make stackset); for how many regions, write " in (
        result.stderr
    )
    assert "REGION_COUNT=5" in result.stderr
    assert result.stdout == ""
