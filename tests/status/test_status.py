"""`rds-certificate-override status` on moto with the RDS certificates emulator, run as `cli.main([...])`.

The command's own credentials are moto's default account (123456789012); other accounts are reached, as the
command reaches them, through assumed roles (moto gives assumed-role keys the target account).
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.organizations.exceptions import AWSOrganizationsNotInUseException
from moto.organizations.models import FakeAccount, OrganizationsBackend
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend
from status_support import CALLER_ACCOUNT, HOME, ROLE_NAME, Account, account

from rds_override_ledger import declarations
from rds_override_local import rds_emulator as emulator
from rds_override_tools import cli
from rds_override_tools.status import (
    Declaration,
    LedgerError,
    Row,
    State,
    decide_state,
    exit_code,
    parse_declaration,
    unreadable,
)

US = "us-east-1"
TEAM_A = "team-a"
MEMBER_1 = "111111111111"
MEMBER_2 = "222222222222"


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    """Run `status --json ARGS`: (exit code, the JSON report, stderr)."""
    code = cli.main(["status", "--json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def rows_by_region(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["region"]: row for row in report["rows"]}


# --- the states ------------------------------------------------------------------------------------------


class TestStates:
    def test_in_sync_names_the_declaring_stack_and_the_expiries(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        stack_id = caller.create_stack(TEAM_A)
        caller.declare(HOME, stack_id, "rds-ca-rsa4096-g1")
        code, report, err = status(capsys, "--regions", HOME)
        assert code == 0
        assert err == ""  # no progress bar when stderr is not a terminal
        [row] = report["rows"]
        assert row["account"] == CALLER_ACCOUNT
        assert row["state"] == "in-sync"
        assert row["default_certificate"] == "rds-ca-rsa4096-g1"
        assert row["override"] is True
        assert row["declared_certificates"] == ["rds-ca-rsa4096-g1"]
        [declaration] = row["declarations"]
        assert declaration["stack_id"] == stack_id
        assert declaration["stack_name"] == TEAM_A
        assert declaration["logical_resource_id"] == "RdsCertificateOverride"
        assert declaration["stack_gone"] is False
        assert row["default_valid_till"] == "2121-05-24T23:03:20Z"
        assert row["override_valid_till"] == "2121-05-24T23:03:20Z"

    def test_no_override_and_no_declaration_is_in_sync(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 0
        [row] = report["rows"]
        assert (row["state"], row["override"], row["default_certificate"]) == (
            "in-sync",
            False,
            "rds-ca-rsa2048-g1",
        )
        assert row["override_valid_till"] is None
        assert row["default_valid_till"] == "2061-05-24T22:59:00Z"

    def test_an_override_other_than_the_declared_one_is_drift(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        emulator.set_override(CALLER_ACCOUNT, HOME, "rds-ca-ecc384-g1")  # changed by hand
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 1
        [row] = report["rows"]
        assert (row["state"], row["default_certificate"]) == ("drift", "rds-ca-ecc384-g1")
        assert row["declared_certificates"] == ["rds-ca-rsa4096-g1"]

    def test_a_removed_override_that_is_still_declared_is_drift(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        emulator.set_override(CALLER_ACCOUNT, HOME, None)
        code, report, _ = status(capsys, "--regions", HOME)
        assert (code, report["rows"][0]["state"], report["rows"][0]["override"]) == (1, "drift", False)

    def test_an_override_no_stack_declares_is_undeclared(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.set_override(CALLER_ACCOUNT, HOME, "rds-ca-rsa4096-g1")
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 1
        [row] = report["rows"]
        assert (row["state"], row["declarations"]) == ("undeclared", [])

    def test_a_declaration_of_a_deleted_stack_is_stale(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        stack_id = caller.create_stack(TEAM_A)
        caller.declare(HOME, stack_id, "rds-ca-rsa4096-g1")
        caller.delete_stack(stack_id)  # DescribeStacks on its ARN now answers DELETE_COMPLETE
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 1
        [row] = report["rows"]
        assert row["state"] == "stale"
        assert row["declarations"][0]["stack_gone"] is True
        assert row["declared_certificates"] == []

    def test_a_declaration_of_a_stack_that_does_not_exist_is_stale(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        never_created = (
            f"arn:aws:cloudformation:{HOME}:{CALLER_ACCOUNT}:stack/gone/5b918d10-0000-4000-8000-000000000000"
        )
        caller.declare(HOME, never_created, "rds-ca-rsa4096-g1")
        code, report, _ = status(capsys, "--regions", HOME)
        assert (code, report["rows"][0]["state"]) == (1, "stale")

    def test_the_stack_is_asked_in_its_own_region(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # One stack in the home region manages us-east-1: its declaration lives in us-east-1.
        caller.declare(US, caller.create_stack(TEAM_A, HOME), "rds-ca-rsa4096-g1", "OverrideUsEast1")
        code, report, _ = status(capsys, "--regions", US)
        assert (code, report["rows"][0]["state"]) == (0, "in-sync")

    def test_a_pending_declaration_whose_override_stands_is_in_sync(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1", state="pending")
        code, report, _ = status(capsys, "--regions", HOME)
        assert (code, report["rows"][0]["declarations"][0]["ledger_state"]) == (0, "pending")

    def test_two_stacks_declaring_the_same_ca_are_in_sync(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        caller.declare(HOME, caller.create_stack("team-b"), "rds-ca-rsa4096-g1", "Override")
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 0
        assert sorted(d["stack_name"] for d in report["rows"][0]["declarations"]) == ["team-a", "team-b"]

    def test_a_malformed_ledger_parameter_makes_the_row_unreadable(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.client("ssm").put_parameter(
            Name="/rds-certificate-override/declarations/x/y/z", Value="not json", Type="String"
        )
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 2
        assert report["rows"][0]["state"] == "unreadable"
        assert "/rds-certificate-override/declarations/x/y/z" in report["rows"][0]["error"]
        assert (
            "aws ssm delete-parameter --name /rds-certificate-override/declarations/x/y/z"
            in report["rows"][0]["error"]
        )

    def test_a_withdrawal_is_not_a_declaration(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """What the rollback Delete of a failed Create leaves in a live stack declares nothing."""
        stack_id = caller.create_stack(TEAM_A)
        withdrawn = declarations.Declaration(
            stack_id,
            "Override",
            "-",
            None,
            False,
            declarations.WriteState.WITHDRAWN,
            "r-1",
            "2026-11-29T08:00:00Z",
        )
        caller.client("ssm").put_parameter(Name=withdrawn.name, Value=withdrawn.to_json(), Type="String")
        code, report, _ = status(capsys, "--regions", HOME)
        assert (code, report["rows"][0]["state"], report["rows"][0]["declarations"]) == (0, "in-sync", [])


class TestDecideState:
    """The decision alone: override in force x declarations x which stacks are live."""

    A = "arn:aws:cloudformation:eu-west-1:111111111111:stack/a/1"
    B = "arn:aws:cloudformation:eu-west-1:111111111111:stack/b/2"

    def declaration(self, stack_id: str, certificate: str) -> Declaration:
        return Declaration(f"/p/{stack_id}", stack_id, "R", certificate, "applied")

    @pytest.mark.parametrize(
        ("override", "declared", "live", "expected"),
        [
            (None, [], set(), State.IN_SYNC),
            ("rds-ca-rsa4096-g1", [(A, "rds-ca-rsa4096-g1")], {A}, State.IN_SYNC),
            ("rds-ca-ecc384-g1", [(A, "rds-ca-rsa4096-g1")], {A}, State.DRIFT),
            (None, [(A, "rds-ca-rsa4096-g1")], {A}, State.DRIFT),
            # Live stacks declaring different CAs (the function refuses this): drift, whatever stands.
            ("rds-ca-rsa4096-g1", [(A, "rds-ca-rsa4096-g1"), (B, "rds-ca-ecc384-g1")], {A, B}, State.DRIFT),
            ("rds-ca-rsa4096-g1", [], set(), State.UNDECLARED),
            ("rds-ca-rsa4096-g1", [(A, "rds-ca-rsa4096-g1")], set(), State.STALE),
            (None, [(A, "rds-ca-rsa4096-g1")], set(), State.STALE),
            # One live, one gone: the live one agrees, the gone one is still reported.
            ("rds-ca-rsa4096-g1", [(A, "rds-ca-rsa4096-g1"), (B, "rds-ca-rsa4096-g1")], {A}, State.STALE),
            # Drift is the worse finding.
            ("rds-ca-ecc384-g1", [(A, "rds-ca-rsa4096-g1"), (B, "rds-ca-rsa4096-g1")], {A}, State.DRIFT),
        ],
    )
    def test_state(
        self, override: str | None, declared: list[tuple[str, str]], live: set[str], expected: State
    ) -> None:
        declarations = [self.declaration(stack_id, certificate) for stack_id, certificate in declared]
        assert decide_state(override, declarations, live) is expected

    def test_exit_code_unreadable_wins_over_drift(self) -> None:
        drift, unreadable_row = Row("1", "r", State.DRIFT), unreadable("1", "s", "why")
        assert exit_code([Row("1", "r", State.IN_SYNC)]) == 0
        assert exit_code([drift, Row("1", "s", State.IN_SYNC)]) == 1
        assert exit_code([drift, unreadable_row]) == 2

    def test_a_ledger_parameter_of_another_version_is_refused_with_its_name(self) -> None:
        with pytest.raises(LedgerError, match=r"/p/x.*Version 2"):
            parse_declaration("/p/x", json.dumps({"Version": 2}))

    def test_a_ledger_parameter_without_a_stack_arn_is_refused(self) -> None:
        value = {
            "Version": 1,
            "StackId": "team-a",
            "LogicalResourceId": "R",
            "CertificateIdentifier": "c",
            "State": "applied",
        }
        with pytest.raises(LedgerError, match="not a stack ARN"):
            parse_declaration("/p/x", json.dumps(value))


# --- DB instances and engines ------------------------------------------------------------------------------


class TestInstances:
    def test_counts_per_ca_expiring_certificates_and_engines_that_do_not_list_the_default(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-ecc384-g1")
        soon = datetime.now(UTC) + timedelta(days=30)
        later = datetime.now(UTC) + timedelta(days=300)
        caller.create_instance(
            HOME, "pg-1", certificate="rds-ca-rsa2048-g1", valid_till=soon, engine="postgres", version="16.3"
        )
        caller.create_instance(
            HOME, "pg-2", certificate="rds-ca-rsa2048-g1", valid_till=later, engine="postgres", version="16.3"
        )
        caller.create_instance(
            HOME,
            "mssql-1",
            certificate="rds-ca-rsa4096-g1",
            valid_till=later,
            engine="sqlserver-se",
            version="15.00.4415.2.v1",
        )
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 0  # warnings, not drift
        [row] = report["rows"]
        assert row["instances_by_certificate"] == {"rds-ca-rsa2048-g1": 2, "rds-ca-rsa4096-g1": 1}
        assert [i["identifier"] for i in row["instances_expiring_within_90_days"]] == ["pg-1"]
        assert row["engines_without_default_certificate"] == ["sqlserver-se 15.00.4415.2.v1"]

    def test_days_widens_the_expiry_window(self, caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
        caller.create_instance(
            HOME,
            "pg-1",
            certificate="rds-ca-rsa2048-g1",
            valid_till=datetime.now(UTC) + timedelta(days=300),
            engine="postgres",
            version="16.3",
        )
        _, report, _ = status(capsys, "--regions", HOME, "--days", "365")
        assert [i["identifier"] for i in report["rows"][0]["instances_expiring_within_365_days"]] == ["pg-1"]

    def test_each_engine_version_is_asked_once(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        later = datetime.now(UTC) + timedelta(days=300)
        for index in range(3):
            caller.create_instance(
                HOME,
                f"pg-{index}",
                certificate="rds-ca-rsa2048-g1",
                valid_till=later,
                engine="postgres",
                version="16.3",
            )
        emulator.reset_calls()
        status(capsys, "--regions", HOME)
        assert [call for call in emulator.calls() if call.action == "DescribeDBEngineVersions"] == [
            (HOME, "DescribeDBEngineVersions")
        ]


# --- accounts and regions ---------------------------------------------------------------------------------


class TestAccounts:
    def test_each_account_is_read_through_its_role(self, capsys: pytest.CaptureFixture[str]) -> None:
        member_1 = account(MEMBER_1)
        member_1.declare(HOME, member_1.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        emulator.set_override(MEMBER_2, HOME, "rds-ca-ecc384-g1")
        code, report, _ = status(
            capsys,
            "--accounts",
            f"{MEMBER_1},{MEMBER_2}",
            "--role-name",
            ROLE_NAME,
            "--regions",
            f"{HOME},{US}",
        )
        assert code == 1
        states = {(row["account"], row["region"]): row["state"] for row in report["rows"]}
        assert states == {
            (MEMBER_1, HOME): "in-sync",
            (MEMBER_1, US): "in-sync",
            (MEMBER_2, HOME): "undeclared",
            (MEMBER_2, US): "in-sync",
        }
        assert report["summary"] == {
            "account_regions": 4,
            "in-sync": 3,
            "drift": 0,
            "undeclared": 1,
            "stale": 0,
            "expired-ca": 0,
            "unreadable": 0,
        }

    def test_organization_reads_the_active_accounts(self, capsys: pytest.CaptureFixture[str]) -> None:
        organizations = boto3.client("organizations", region_name=US)
        organizations.create_organization(FeatureSet="ALL")
        created = [
            organizations.create_account(AccountName=name, Email=f"{name}@example.com")[
                "CreateAccountStatus"
            ]["AccountId"]
            for name in ("alpha", "beta", "closed")
        ]
        organizations.close_account(AccountId=created[2])
        code, report, _ = status(capsys, "--organization", "--role-name", ROLE_NAME, "--regions", HOME)
        assert code == 0
        assert sorted(row["account"] for row in report["rows"]) == sorted([CALLER_ACCOUNT, *created[:2]])

    def test_default_regions_are_the_enabled_ones(self, capsys: pytest.CaptureFixture[str]) -> None:
        enabled = sorted(
            r["RegionName"] for r in boto3.client("ec2", region_name=HOME).describe_regions()["Regions"]
        )
        code, report, _ = status(capsys)
        assert code == 0
        assert [row["region"] for row in report["rows"]] == enabled

    def test_a_region_not_enabled_is_a_row_saying_so(self, capsys: pytest.CaptureFixture[str]) -> None:
        emulator.inject_fault(
            "DescribeCertificates",
            code="UnrecognizedClientException",
            status=403,
            count=None,
            region="ap-east-1",
        )
        code, report, _ = status(capsys, "--regions", f"{HOME},ap-east-1")
        assert code == 2
        rows = rows_by_region(report)
        assert rows[HOME]["state"] == "in-sync"
        assert rows["ap-east-1"]["state"] == "unreadable"
        assert rows["ap-east-1"]["error"].startswith("region not enabled for this account")
        assert "UnrecognizedClientException" in rows["ap-east-1"]["error"]

    def test_access_denied_is_a_row_saying_so(self, capsys: pytest.CaptureFixture[str]) -> None:
        emulator.inject_fault("DescribeDBInstances", code="AccessDenied", status=403, count=None, region=US)
        code, report, _ = status(capsys, "--regions", f"{HOME},{US}")
        assert code == 2
        assert rows_by_region(report)[US]["error"].startswith(
            "access denied: DescribeDBInstances: AccessDenied"
        )

    def test_throttling_is_retried(self, capsys: pytest.CaptureFixture[str]) -> None:
        emulator.inject_fault("DescribeCertificates", code="Throttling", status=400, count=2)
        code, _, _ = status(capsys, "--regions", HOME)
        assert code == 0

    # STS has no AccessDenied error shape in its model; AWS sends it all the same.
    @pytest.mark.filterwarnings("ignore:Exception.STSClientError. with code AccessDenied")
    def test_a_role_that_cannot_be_assumed_is_a_row_and_the_others_are_read(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assume_role = STSBackend.assume_role

        def refuse_member_2(self: STSBackend, **kwargs: Any) -> Any:
            if f"::{MEMBER_2}:" in kwargs["role_arn"]:
                raise STSClientError("AccessDenied", "not authorized to perform: sts:AssumeRole")
            return assume_role(self, **kwargs)

        monkeypatch.setattr(STSBackend, "assume_role", refuse_member_2)
        code, report, err = status(
            capsys, "--accounts", f"{MEMBER_1},{MEMBER_2}", "--role-name", ROLE_NAME, "--regions", HOME
        )
        assert code == 2
        rows = {row["account"]: row for row in report["rows"]}
        assert rows[MEMBER_1]["state"] == "in-sync"
        assert rows[MEMBER_2]["region"] == "*"
        assert rows[MEMBER_2]["error"].startswith(
            f"cannot assume arn:aws:iam::{MEMBER_2}:role/{ROLE_NAME} (--role-name): access denied"
        )
        assert err == ""

    @pytest.mark.filterwarnings("ignore:Exception.STSClientError. with code AccessDenied")
    def test_when_no_role_can_be_assumed_stderr_names_the_option(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        def refuse(self: STSBackend, **kwargs: Any) -> Any:
            raise STSClientError("AccessDenied", "not authorized to perform: sts:AssumeRole")

        monkeypatch.setattr(STSBackend, "assume_role", refuse)
        code, report, err = status(capsys, "--accounts", MEMBER_1, "--role-name", "Typo", "--regions", HOME)
        assert code == 2
        assert [row["state"] for row in report["rows"]] == ["unreadable"]
        assert "--role-name Typo: no account could be reached" in err


# --- bad input -------------------------------------------------------------------------------------------


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["--regions", "eu-west-1,mars-east-1"],
                "--regions: unknown in partition aws: mars-east-1 (known: ",
            ),
            # A real region of another partition: the SDK's list of the caller's partition decides, no regex.
            (["--regions", "eusc-de-east-1"], "--regions: unknown in partition aws: eusc-de-east-1"),
            (["--regions", ","], "--regions: no regions given"),
            (["--accounts", "12345", "--role-name", "R"], "--accounts: not 12-digit account ids: 12345"),
            (["--accounts", MEMBER_1], "--accounts, --organization and --ou need --role-name"),
            (["--role-name", "R"], "--role-name needs --accounts, --organization or --ou"),
            (["--ou", "ou-abcd-12345678"], "--accounts, --organization and --ou need --role-name"),
            (["--ou", "team-a", "--role-name", "R"], "--ou: 'team-a' is not an organizational unit id"),
            (["--state", "drift,bogus"], "--state: unknown bogus (choose from in-sync, drift"),
            (["--expiring-within", "-1"], "--expiring-within must be 0 or more"),
            (["--format", "csv", "--wide"], "--wide is for the table"),
            (["--days", "-1"], "--days must be 0 or more"),
            (["--concurrency", "0"], "--concurrency must be 1 or more"),
        ],
    )
    def test_is_refused_with_the_option_named_and_nothing_read(
        self, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.reset_calls()
        with pytest.raises(SystemExit) as exit_:
            cli.main(["status", *args])
        out, err = capsys.readouterr()
        assert exit_.value.code == 2
        assert message in err
        assert out == ""
        assert emulator.calls() == []

    def test_no_region_configured(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("AWS_DEFAULT_REGION")  # aws_environment sets no AWS_REGION
        with pytest.raises(SystemExit) as exit_:
            cli.main(["status"])
        assert exit_.value.code == 2
        assert "no region configured: set AWS_DEFAULT_REGION" in capsys.readouterr().err

    def test_an_organization_without_active_accounts(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        organizations = boto3.client("organizations", region_name=US)
        organizations.create_organization(FeatureSet="ALL")
        # moto cannot close the management account: every account is shown as closed instead.
        describe = FakeAccount.describe

        def closed(self: FakeAccount) -> dict[str, Any]:
            return {**describe(self), "Status": "SUSPENDED", "State": "CLOSED"}

        monkeypatch.setattr(FakeAccount, "describe", closed)
        with pytest.raises(SystemExit) as exit_:
            cli.main(["status", "--organization", "--role-name", ROLE_NAME])
        assert exit_.value.code == 2
        assert "--organization: the organization has no ACTIVE account" in capsys.readouterr().err

    def test_organization_when_the_caller_is_in_no_organization(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # What AWS answers there (moto 5.2.5 answers an empty list).
        def not_in_use(self: OrganizationsBackend, **kwargs: Any) -> Any:
            raise AWSOrganizationsNotInUseException

        monkeypatch.setattr(OrganizationsBackend, "list_accounts", not_in_use)
        emulator.reset_calls()
        with pytest.raises(SystemExit) as exit_:
            cli.main(["status", "--organization", "--role-name", ROLE_NAME])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "--organization: cannot list the organization's accounts" in err
        assert "AWSOrganizationsNotInUseException" in err
        assert emulator.calls() == []


# --- output ------------------------------------------------------------------------------------------------


class TestOutput:
    def test_json_shape(self, caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        _, report, _ = status(capsys, "--regions", HOME)
        assert set(report) == {"generated_at", "days", "summary", "rows"}
        assert report["days"] == 90
        assert set(report["rows"][0]) == {
            "account",
            "region",
            "state",
            "default_certificate",
            "override",
            "declared_certificates",
            "declarations",
            "default_valid_till",
            "override_valid_till",
            "instances_by_certificate",
            "instances_expiring_within_90_days",
            "engines_without_default_certificate",
            "databases_on_expired_ca",
            "target_risk_note",
            "readiness",
            "error",
        }
        assert report["rows"][0]["target_risk_note"].startswith("rds-ca-rsa4096-g1: RSA4096 chains fail")
        assert set(report["rows"][0]["declarations"][0]) == {
            "parameter_name",
            "stack_id",
            "stack_name",
            "logical_resource_id",
            "certificate_identifier",
            "ledger_state",
            "stack_gone",
        }

    def test_table(self, caller: Account, capsys: pytest.CaptureFixture[str]) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        emulator.set_override(CALLER_ACCOUNT, US, "rds-ca-ecc384-g1")
        caller.create_instance(
            HOME,
            "pg-1",
            certificate="rds-ca-rsa2048-g1",
            valid_till=datetime.now(UTC) + timedelta(days=10),
            engine="postgres",
            version="16.3",
        )
        code = cli.main(["status", "--wide", "--regions", f"{HOME},{US}"])
        out, err = capsys.readouterr()
        lines = out.splitlines()
        assert code == 1
        assert err == ""
        assert lines[0].split() == [
            "ACCOUNT", "REGION", "STATE", "DEFAULT", "OVERRIDE", "CA", "EXPIRES", "OVERRIDE", "EXPIRES",
            "INSTANCES", "BY", "CA", "EXPIRING", "<=90D", "OFF-CA", "RESTART", "NO-TARGET", "PENDING",
            "AUTO-APPLY", "FORCED", "DECLARED", "BY", "NOTES",
        ]  # fmt: skip
        # Fixed columns: every cell starts where its header starts.
        region_column, state_column = lines[0].index("REGION"), lines[0].index("STATE")
        assert lines[1][region_column:state_column].strip() == HOME
        assert lines[1].split()[:8] == [
            CALLER_ACCOUNT, HOME, "in-sync", "rds-ca-rsa4096-g1", "yes", "2121-05-24", "2121-05-24",
            "rds-ca-rsa2048-g1=1",
        ]  # fmt: skip
        # pg-1 is off the declared CA; postgres rotates without a restart; nothing pending
        assert lines[1].split()[8:16] == ["1", "1", "0", "0", "0", "-", "-", "team-a/RdsCertificateOverride"]
        assert "pg-1 expires" in lines[1]
        assert lines[2].split()[:5] == [CALLER_ACCOUNT, US, "undeclared", "rds-ca-ecc384-g1", "yes"]
        # Each risky target's note once, under the table (rsa4096 here, ecc384 in US).
        assert [line.split(":")[0] for line in lines[3:-1] if not line.startswith(" ")] == [
            "rds-ca-ecc384-g1",
            "rds-ca-rsa4096-g1",
        ]
        assert (
            lines[-1]
            == "2 account-regions: 1 in-sync, 0 drift, 1 undeclared, 0 stale, 0 expired-ca, 0 unreadable"
        )

    def test_table_notes_say_what_needs_a_look(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-rsa4096-g1")
        emulator.set_override(CALLER_ACCOUNT, HOME, "rds-ca-ecc384-g1")
        gone = caller.create_stack("team-b")
        caller.declare(US, gone, "rds-ca-ecc384-g1", "Override")
        caller.delete_stack(gone)
        caller.create_instance(
            US,
            "mssql-1",
            certificate="rds-ca-rsa2048-g1",
            valid_till=datetime.now(UTC) + timedelta(days=300),
            engine="sqlserver-se",
            version="15.00.4415.2.v1",
        )
        code = cli.main(["status", "--wide", "--regions", f"{HOME},{US}"])
        lines = capsys.readouterr().out.splitlines()
        notes = lines[0].index("NOTES")
        assert code == 1
        assert lines[1][notes:] == "declared rds-ca-rsa4096-g1"
        assert lines[2][notes:] == (
            "stack gone: team-b/Override; engines without rds-ca-ecc384-g1: sqlserver-se 15.00.4415.2.v1"
        )

    def test_a_progress_bar_only_on_a_terminal(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        code = cli.main(["status", "--json", "--regions", f"{HOME},{US}"])
        assert code == 0
        assert "0/2 [" in terminal.getvalue()  # the total: both regions
        assert json.loads(capsys.readouterr().out)["summary"]["in-sync"] == 2


class TestExpiredCa:
    def test_a_database_on_an_expired_ca_is_expired_ca_not_in_sync(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.create_instance(
            HOME,
            "legacy-1",
            certificate="rds-ca-2019",
            valid_till=datetime(2024, 8, 22, tzinfo=UTC),
            engine="postgres",
            version="16.3",
        )
        code, report, _ = status(capsys, "--regions", HOME)
        assert code == 1
        [row] = report["rows"]
        assert row["state"] == "expired-ca"
        assert row["databases_on_expired_ca"] == ["legacy-1 (rds-ca-2019, expired 2024-08-22)"]
        cli.main(["status", "--regions", HOME])
        out = capsys.readouterr().out
        assert "on an expired CA: legacy-1 (rds-ca-2019, expired 2024-08-22)" in out

    def test_a_risky_target_carries_its_note(
        self, caller: Account, capsys: pytest.CaptureFixture[str]
    ) -> None:
        caller.declare(HOME, caller.create_stack(TEAM_A), "rds-ca-ecc384-g1")
        cli.main(["status", "--regions", HOME])
        assert "ECC384 chains fail the handshake in some clients" in capsys.readouterr().out
