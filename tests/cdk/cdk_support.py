"""Helpers of the CDK construct's tests (tests/cdk is on the path while they run)."""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_APP = ROOT / "cdk" / "app.py"
SAM_TEMPLATE = ROOT / "template.yaml"
SAM_ARTIFACT = ROOT / ".aws-sam" / "build" / "RdsCertificateOverrideFunction"
RUNTIME_SDK = ROOT / "build" / "lambda-runtime-sdk"

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "example-stack.template.json"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
"""Asset hashes change with every build of lambda/: snapshots hold a placeholder instead."""

# No Docker: nothing here bundles, and this context makes sure nothing would try.
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


def new_app(**context: Any) -> cdk.App:
    return cdk.App(context={**NO_BUNDLING, **context})


def new_stack(region: str | None = None, app: cdk.App | None = None, id: str = "Stack") -> cdk.Stack:
    """A stack of a fresh app; env-agnostic (its region a token) unless `region` is given."""
    env = cdk.Environment(account="123456789012", region=region) if region else None
    return cdk.Stack(app or new_app(), id, env=env)


def template_of(stack: cdk.Stack) -> dict[str, Any]:
    return dict(Template.from_stack(stack).to_json())


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == type_}


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def normalized(template: dict[str, Any]) -> str:
    """A template as its snapshot holds it."""
    text = json.dumps(template, indent=2, sort_keys=True) + "\n"
    return ASSET_HASH.sub("<asset hash>", text)


@dataclass(frozen=True)
class CloudAssembly:
    """The example app synthesized as `make synth` does: `python cdk/app.py`, in its own process."""

    directory: Path
    stack_name: str

    @property
    def template(self) -> dict[str, Any]:
        return dict(json.loads((self.directory / f"{self.stack_name}.template.json").read_text()))

    @property
    def template_path(self) -> Path:
        return self.directory / f"{self.stack_name}.template.json"

    def asset_directory(self, s3_key: str) -> Path:
        """The staged directory of the file asset uploaded as `s3_key` (from the stack's assets manifest)."""
        manifest = json.loads((self.directory / f"{self.stack_name}.assets.json").read_text())
        for asset in manifest["files"].values():
            if any(d["objectKey"] == s3_key for d in asset["destinations"].values()):
                return self.directory / asset["source"]["path"]
        raise AssertionError(f"no asset is uploaded as {s3_key}")


def recommended_flags() -> dict[str, Any]:
    """aws-cdk-lib's recommended-feature-flags.json (what `cdk init` writes), from the installed version."""
    (bundle,) = (Path(cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return dict(json.load(member))
