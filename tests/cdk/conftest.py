"""Set-up of the CDK construct's tests: jsii quiet, no Docker, and a synthesized example app to share."""

from __future__ import annotations

import os
import subprocess
import sys

# Read by jsii's node process when it starts, at the first import of aws_cdk: set it before that, for the
# Node on PATH, as the Makefile does (jsii's Python runtime prints Node's banner as bytes literals).
if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in os.environ:
    node = subprocess.run(
        ["node", "-p", "process.versions.node.split('.')[0]"],  # noqa: S607 - node from PATH, as jsii runs it
        capture_output=True,
        text=True,
        check=False,
    )
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = node.stdout.strip()

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
    # jsii's end-of-life banner (b'!!  ...' lines) and CDK warnings would land here: it synthesizes quietly.
    assert completed.stderr == ""
    return CloudAssembly(outdir, example_app.STACK_NAME)
