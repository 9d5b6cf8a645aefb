"""Snapshot of the example app's template (cdk/app.py): any change to what the construct synthesizes shows
up here as a diff to review.

To accept a change, regenerate the snapshot and commit it with the change:

    UPDATE_SNAPSHOTS=1 .tools/bin/uv run pytest tests/cdk/test_cdk_snapshot.py

Asset hashes (they change with every build of lambda/) are replaced by a placeholder.
"""

from __future__ import annotations

import os

from aws_cdk.assertions import Template

import app as example_app
from cdk_support import ASSET_HASH, SNAPSHOT, new_app, normalized


def test_the_example_stack_matches_its_snapshot() -> None:
    stack = example_app.example_stack(new_app())
    actual = normalized(Template.from_stack(stack).to_json())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert actual == expected, (
        f"The synthesized template differs from {SNAPSHOT}. If the change is intended, update the "
        "snapshot with `UPDATE_SNAPSHOTS=1 .tools/bin/uv run pytest tests/cdk/test_cdk_snapshot.py` "
        "and commit it."
    )


def test_the_snapshot_holds_no_asset_hash() -> None:
    snapshot = SNAPSHOT.read_text(encoding="utf-8")
    assert not ASSET_HASH.search(snapshot)
    assert '"S3Key": "<asset hash>.zip"' in snapshot
