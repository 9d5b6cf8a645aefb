"""An organization on moto for the status tests: accounts reached through assumed roles, stacks, ledger
declarations written by the function's own code (lambda/rds_override_ledger), overrides, DB instances
with server certificates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from rds_override_ledger import declarations
from rds_override_local import organization, settings
from rds_override_local import rds_emulator as emulator
from rds_override_local.cloud import create_stack

HOME = settings.REGION
ROLE_NAME = organization.ROLE_NAME
CALLER_ACCOUNT = settings.ACCOUNT_ID


@dataclass
class Account:
    """One account of the organization, reached as the status command does: an assumed role."""

    id: str
    session: boto3.session.Session

    def client(self, service: str, region: str = HOME) -> Any:
        return self.session.client(service, region_name=region)  # type: ignore[call-overload]

    def create_stack(self, name: str, region: str = HOME) -> str:
        return create_stack(self.client("cloudformation", region), name)

    def delete_stack(self, stack_id: str) -> None:
        self.client("cloudformation", stack_id.split(":")[3]).delete_stack(StackName=stack_id)

    def declare(
        self,
        region: str,
        stack_id: str,
        certificate: str,
        logical_id: str = "RdsCertificateOverride",
        *,
        state: str = "applied",
        apply: bool = True,
    ) -> str:
        """What the function leaves behind: its ledger parameter, written by the function's own code
        (lambda/rds_override_ledger/declarations.py), and (apply) the override itself."""
        declaration = declarations.Declaration(
            stack_id=stack_id,
            logical_id=logical_id,
            certificate=certificate,
            previous_override=None,
            restore_previous=False,
            state=declarations.WriteState(state),
            request_id=str(uuid.uuid4()),
            updated_at="2026-11-28T18:00:00Z",
        )
        self.client("ssm", region).put_parameter(
            Name=declaration.name, Value=declaration.to_json(), Type="String"
        )
        if apply:
            emulator.set_override(self.id, region, certificate)
        return declaration.name

    def create_instance(
        self,
        region: str,
        identifier: str,
        *,
        certificate: str,
        valid_till: datetime,
        engine: str,
        version: str,
    ) -> None:
        self.client("rds", region).create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            EngineVersion=version,
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password123",
            CACertificateIdentifier=certificate,
        )
        emulator.set_server_certificate_valid_till(self.id, region, identifier, valid_till)


def account(account_id: str) -> Account:
    """The account as a role in it sees it (moto gives assumed-role keys the target account)."""
    keys = boto3.client("sts", region_name=HOME).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="arrange"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    return Account(account_id, session)
