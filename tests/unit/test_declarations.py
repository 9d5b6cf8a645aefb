"""The pure side of the declarations ledger (lambda/declarations.py): names, values, choices."""

import json

import pytest

from declarations import (
    Declaration,
    StackRef,
    WriteState,
    conflict_message,
    conflicting,
    lock_expired,
    lock_value,
    parameter_name,
    previous_override,
    split_own,
)

STACK_A = "arn:aws:cloudformation:eu-west-1:123456789012:stack/team-a/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
STACK_B = "arn:aws-eusc:cloudformation:eusc-de-east-1:123456789012:stack/team-b/0e1a2b3c-0000-4000"


def declared(
    stack_id: str = STACK_A,
    certificate: str = "rds-ca-rsa4096-g1",
    previous: str | None = None,
    logical_id: str = "Override",
) -> Declaration:
    return Declaration(
        stack_id=stack_id,
        logical_id=logical_id,
        certificate=certificate,
        previous_override=previous,
        restore_previous=False,
        state=WriteState.APPLIED,
        request_id="r-1",
        updated_at="2026-11-28T18:00:00Z",
    )


class TestNames:
    def test_a_declaration_is_named_after_its_stack_and_logical_id(self) -> None:
        assert parameter_name(STACK_A, "Override") == (
            "/rds-certificate-override/declarations/team-a/5b918d10-cd98-11ea-90d5-0a9cd3354c10/Override"
        )

    def test_every_partition_and_region_shape(self) -> None:
        ref = StackRef.parse(STACK_B)
        assert ref is not None
        assert (ref.region, ref.name) == ("eusc-de-east-1", "team-b")

    @pytest.mark.parametrize(
        ("stack_id", "logical_id"), [("not-an-arn", "Override"), (STACK_A, "Over/ride"), (STACK_A, "")]
    )
    def test_anything_else_gets_a_digest_under_the_same_path(self, stack_id: str, logical_id: str) -> None:
        name = parameter_name(stack_id, logical_id)
        assert name.startswith("/rds-certificate-override/declarations/other/")
        assert len(name.rsplit("/", 1)[1]) == 32

    def test_holder_names_the_stack_and_resource(self) -> None:
        assert declared().holder == "stack team-a, resource Override"


class TestValue:
    def test_round_trip(self) -> None:
        original = declared(previous="rds-ca-rsa2048-g1")
        assert Declaration.from_json(original.to_json()) == original

    def test_the_value_people_read(self) -> None:
        assert json.loads(declared().to_json()) == {
            "Version": 1,
            "StackId": STACK_A,
            "LogicalResourceId": "Override",
            "CertificateIdentifier": "rds-ca-rsa4096-g1",
            "PreviousOverride": None,
            "RestorePreviousOnDelete": False,
            "State": "applied",
            "RequestId": "r-1",
            "UpdatedAt": "2026-11-28T18:00:00Z",
        }

    def test_a_value_fits_a_standard_parameter(self) -> None:
        long = declared(stack_id=STACK_A.replace("team-a", "s" * 128), logical_id="L" * 255)
        assert len(long.to_json().encode()) < 4096

    @pytest.mark.parametrize(
        "text", ['{"Version": 2}', "[]", '{"Version": 1}', '{"Version": 1, "StackId": "x", "State": "odd"}']
    )
    def test_a_value_this_version_cannot_read_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            Declaration.from_json(text)

    def test_the_same_declaration_ignores_request_and_time(self) -> None:
        one = declared()
        assert one.same_declaration(Declaration(**{**vars(one), "request_id": "r-2", "updated_at": "later"}))
        assert not one.same_declaration(declared(certificate="rds-ca-ecc384-g1"))


class TestDecisions:
    def test_split_own(self) -> None:
        mine, theirs = declared(), declared(stack_id=STACK_B)
        assert split_own([theirs, mine], STACK_A, "Override") == (mine, [theirs])
        assert split_own([theirs], STACK_A, "Override") == (None, [theirs])

    def test_only_another_ca_conflicts(self) -> None:
        same, other = declared(), declared(stack_id=STACK_B, certificate="rds-ca-ecc384-g1")
        assert conflicting([same, other], "rds-ca-rsa4096-g1") == [other]

    def test_the_conflict_message_names_the_holder_and_the_way_out(self) -> None:
        message = conflict_message("eu-west-1", "rds-ca-ecc384-g1", declared())
        assert "stack team-a, resource Override declares for eu-west-1" in message
        assert "Nothing was changed" in message
        assert "change or delete that declaration" in message

    def test_what_stood_before_is_recorded_once_and_carried_along(self) -> None:
        own = declared(previous="own-previous")
        other = declared(stack_id=STACK_B, previous="first-previous")
        kwargs = {"legacy_previous": "legacy", "others": [other], "standing": "standing"}
        assert previous_override(own=own, **kwargs) == "own-previous"  # type: ignore[arg-type]
        assert previous_override(own=None, **kwargs) == "legacy"  # type: ignore[arg-type]
        assert (
            previous_override(own=None, legacy_previous=None, others=[other], standing="s")
            == "first-previous"
        )
        assert previous_override(own=None, legacy_previous=None, others=[], standing="s") == "s"


class TestLock:
    def test_a_lock_expires_with_its_lease(self) -> None:
        value = lock_value({"RequestId": "r-1"}, expires_at=100.0)
        assert json.loads(value) == {"RequestId": "r-1", "ExpiresAt": 100.0}
        assert not lock_expired(value, now=99.9)
        assert lock_expired(value, now=100.0)

    @pytest.mark.parametrize("value", ["", "{}", "[]", '{"ExpiresAt": "soon"}'])
    def test_an_unreadable_lock_counts_as_expired(self, value: str) -> None:
        assert lock_expired(value, now=0.0)
