"""Set-up of the CDK construct's tests: jsii quiet, no Docker, and a synthesized example app to share."""

from __future__ import annotations

import os
import subprocess
import sys

# Read by jsii's node process when it starts, at the first import of aws_cdk: set it before that.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest

import app as example_app
from cdk_support import EXAMPLE_APP, CloudAssembly


@pytest.fixture(scope="session")
def example_assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    outdir = tmp_path_factory.mktemp("cdk.out")
    completed = subprocess.run(  # noqa: S603 - our own app, with this interpreter
        [sys.executable, str(EXAMPLE_APP)],
        env={**os.environ, "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # jsii's end-of-life banner and CDK warnings would land here: the app synthesizes quietly.
    assert "end-of-life" not in completed.stderr, completed.stderr
    return CloudAssembly(outdir, example_app.STACK_NAME)
