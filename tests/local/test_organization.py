"""The organization on the emulator that `make bench-status` times and a simulation reuses
(rds_override_local.organization)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rds_override_ledger import declarations
from rds_override_local import organization
from rds_override_local.cloud import emulator_server

STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:100000000001:stack/rds-certificate-override/"
    "5b918d10-cd98-11ea-90d5-0a9cd3354c10"
)


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in organization.status_environment().items():
        monkeypatch.setenv(name, value)
    with emulator_server() as url:
        yield url


def test_its_declarations_are_what_the_function_writes() -> None:
    value = organization.declaration_value(STACK_ID, "eu-west-1", organization.DECLARED)

    declaration = declarations.Declaration.from_json(value)

    assert declaration.to_json() == value
    assert (declaration.stack_id, declaration.logical_id, declaration.certificate, declaration.state) == (
        STACK_ID,
        "OverrideEuwest1",
        organization.DECLARED,
        declarations.WriteState.APPLIED,
    )
    assert organization.declaration_name(STACK_ID, "eu-west-1") == declaration.name


def test_status_finds_what_populate_arranged(endpoint: str) -> None:
    accounts = organization.account_ids(4)
    regions = organization.managed_regions(3)

    arranged = organization.populate(endpoint, accounts, regions)
    run = organization.run_status(endpoint, accounts, regions)

    assert arranged.expected_states() == {"in-sync": 6, "drift": 2, "undeclared": 1, "stale": 3}
    assert run.states() == arranged.expected_states()
    assert run.exit_code == 1
    states = {(row["account"], row["region"]): row["state"] for row in run.report["rows"]}
    assert {pair for pair, state in states.items() if state == "drift"} == set(arranged.drift)
    assert {pair for pair, state in states.items() if state == "stale"} == set(arranged.stale)
    assert run.wall_s > 0


def test_a_failing_status_raises_with_its_stderr(endpoint: str) -> None:
    with pytest.raises(RuntimeError, match=r"status failed \(exit 2\).*--concurrency"):
        organization.run_status(endpoint, ["100000000001"], ["eu-west-1"], extra_args=["--concurrency", "0"])
