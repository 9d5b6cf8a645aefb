"""The ledger's writer (the function, through lambda/rds_override_ledger) and the status command's reader
agree: a declaration the function writes is read back with the same stack, logical id, CA and state."""

from __future__ import annotations

import json

import boto3
import pytest
from status_support import HOME, Account

from rds_override_ledger import declarations
from rds_override_tools import cli, status

STACK_ID = f"arn:aws:cloudformation:{HOME}:123456789012:stack/team-a/5b918d10-cd98-11ea-90d5-0a9cd3354c10"


def written(state: declarations.WriteState, *, stack_id: str = STACK_ID) -> declarations.Declaration:
    return declarations.Declaration(
        stack_id=stack_id,
        logical_id="RdsCertificateOverride",
        certificate="rds-ca-rsa4096-g1",
        previous_override="rds-ca-rsa2048-g1",
        restore_previous=True,
        state=state,
        request_id="e2fc8f5c-0cfe-4a4b-9c0b-7d1c6a1f3e11",
        updated_at="2026-11-28T18:00:00Z",
    )


def test_a_withdrawal_declares_nothing_to_the_reader_either() -> None:
    applied, withdrawn = written(declarations.WriteState.APPLIED), written(declarations.WriteState.WITHDRAWN)
    other = written(declarations.WriteState.APPLIED, stack_id=STACK_ID.replace("team-a", "team-b"))
    read = status.parse_ledger([(withdrawn.name, withdrawn.to_json()), (other.name, other.to_json())])
    assert [d.parameter_name for d in read] == [other.name]
    assert status.parse_ledger([(applied.name, applied.to_json())])[0].ledger_state == "applied"


@pytest.mark.parametrize("value", ["{", '{"Version": 2}', '{"Version": true}'])
def test_an_entry_the_function_cannot_read_is_unreadable_to_the_reader(value: str) -> None:
    name = written(declarations.WriteState.APPLIED).name
    with pytest.raises(status.LedgerError) as error:
        status.parse_ledger([(name, value)])
    assert f"The ledger entry {name} cannot be read" in str(error.value)


@pytest.mark.parametrize("state", list(declarations.WriteState))
def test_the_reader_parses_what_the_writer_writes(state: declarations.WriteState) -> None:
    declaration = written(state)

    read = status.parse_declaration(declaration.name, declaration.to_json())

    assert read.parameter_name == declarations.parameter_name(STACK_ID, "RdsCertificateOverride")
    assert read.stack_id == declaration.stack_id
    assert read.stack_name == "team-a"
    assert read.stack_region == HOME
    assert read.logical_resource_id == declaration.logical_id
    assert read.certificate_identifier == declaration.certificate
    assert read.ledger_state == state.value


def test_status_reports_a_declaration_the_function_wrote_to_ssm(
    caller: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_id = caller.create_stack("team-a")
    declaration = written(declarations.WriteState.PENDING, stack_id=stack_id)
    boto3.client("ssm", region_name=HOME).put_parameter(
        Name=declaration.name, Value=declaration.to_json(), Type="String"
    )
    boto3.client("rds", region_name=HOME).modify_certificates(CertificateIdentifier=declaration.certificate)

    code = cli.main(["status", "--json", "--regions", HOME])

    [row] = json.loads(capsys.readouterr().out)["rows"]
    assert (code, row["state"], row["declared_certificates"]) == (0, "in-sync", [declaration.certificate])
    assert row["declarations"] == [
        {
            "parameter_name": declaration.name,
            "stack_id": stack_id,
            "stack_name": "team-a",
            "logical_resource_id": declaration.logical_id,
            "certificate_identifier": declaration.certificate,
            "ledger_state": "pending",
            "stack_gone": False,
        }
    ]
