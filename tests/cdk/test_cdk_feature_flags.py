"""cdk/cdk.json sets the feature flags aws-cdk-lib recommends: the CDK CLI has none to report missing."""

from __future__ import annotations

import json
from typing import Any

import app as example_app
from cdk_support import ROOT, new_app, recommended_flags, template_of


def test_cdk_json_sets_every_recommended_flag() -> None:
    context = json.loads((ROOT / "cdk" / "cdk.json").read_text())["context"]
    recommended = recommended_flags()
    assert {key: context.get(key) for key in recommended} == recommended


def test_the_flags_do_not_change_what_the_example_app_synthesizes() -> None:
    # `make synth` runs the app without the CLI (no cdk.json context); `npx aws-cdk@2 synth` reads it.
    context = json.loads((ROOT / "cdk" / "cdk.json").read_text())["context"]
    with_flags = template_of(example_app.example_stack(new_app(**context)))
    without = template_of(example_app.example_stack(new_app()))
    # @aws-cdk/aws-iam:minimizePolicies sorts a statement's actions: what the policy allows is the same.
    assert actions_sorted(with_flags) == actions_sorted(without)


def actions_sorted(node: Any) -> Any:
    """`node` with every IAM statement's Action list in sorted order."""
    if isinstance(node, dict):
        return {
            key: sorted(value) if key == "Action" and isinstance(value, list) else actions_sorted(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [actions_sorted(item) for item in node]
    return node
