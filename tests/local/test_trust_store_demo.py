"""`make trust-store-demo` (rds_override_local.trust_store_demo): a ready store beside a stale one."""

from __future__ import annotations

import os
import subprocess
import sys

from rds_override_local import settings


def test_it_shows_a_ready_store_and_a_stale_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rds_override_local.trust_store_demo"],
        cwd=settings.REPOSITORY,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("$ rds-certificate-override check-trust-store ")
    assert lines[1].split()[:6] == ["STORE", "ACCOUNT", "REGION", "CA", "FOR", "VERDICT"]
    rows = [line.split() for line in lines[2:8]]
    assert {(row[0].rsplit("/", 1)[-1], row[5]) for row in rows} == {
        ("ready.pem", "found"),
        ("stale.jks", "missing"),
    }
    assert ["orders" in " ".join(row) for row in rows].count(True) == 2  # its CA, in each store
    assert lines[-3].endswith("ready.pem (PEM, 7 certificate(s)): trusts everything it must")
    assert lines[-2].endswith("stale.jks (JKS, 1 certificate(s)): 3 of 3 not trusted")
