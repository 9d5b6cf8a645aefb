"""An organization on moto for the status tests: accounts reached through assumed roles, stacks, ledger
declarations written exactly as the ledger layout says (docs: /work/notes/ledger.md, lambda/ledger.py),
overrides, DB instances with server certificates."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from moto.core.responses import ActionResult
from moto.rds.models import rds_backends
from moto.rds.responses import RDSResponse

import moto_rds_certificates as emulator

HOME = "eu-west-1"
ROLE_NAME = "RdsCertificateOverrideStatus"
CALLER_ACCOUNT = emulator.DEFAULT_ACCOUNT_ID
STACK_TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})

# SupportedCACertificateIdentifiers per (engine, version), as DescribeDBEngineVersions answers them. moto
# 5.2.5 does not implement the action: `describe_db_engine_versions` (patched in by conftest) answers here.
ENGINE_CERTIFICATES: dict[tuple[str, str], list[str]] = {
    ("postgres", "16.3"): ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"],
    ("sqlserver-se", "15.00.4415.2.v1"): ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"],
}


def describe_db_engine_versions(self: RDSResponse) -> ActionResult:
    key = (self._get_param("Engine"), self._get_param("EngineVersion"))
    versions = [
        {"Engine": key[0], "EngineVersion": key[1], "SupportedCACertificateIdentifiers": supported}
        for supported in [ENGINE_CERTIFICATES.get(key)]
        if supported is not None
    ]
    return ActionResult({"DBEngineVersions": versions})


@dataclass
class Account:
    """One account of the organization, reached as the status command does: an assumed role."""

    id: str
    session: boto3.session.Session

    def client(self, service: str, region: str = HOME) -> Any:
        return self.session.client(service, region_name=region)  # type: ignore[call-overload]

    def create_stack(self, name: str, region: str = HOME) -> str:
        stack_id: str = self.client("cloudformation", region).create_stack(
            StackName=name, TemplateBody=STACK_TEMPLATE
        )["StackId"]
        return stack_id

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
        """What the function leaves behind: its ledger parameter, and (apply) the override itself."""
        stack_name, stack_uuid = stack_id.split(":", 5)[5].split("/")[1:]
        name = f"/rds-certificate-override/declarations/{stack_name}/{stack_uuid}/{logical_id}"
        value = {
            "Version": 1,
            "StackId": stack_id,
            "LogicalResourceId": logical_id,
            "CertificateIdentifier": certificate,
            "PreviousOverride": None,
            "RestorePreviousOnDelete": False,
            "State": state,
            "RequestId": str(uuid.uuid4()),
            "UpdatedAt": "2026-11-28T18:00:00Z",
        }
        self.client("ssm", region).put_parameter(Name=name, Value=json.dumps(value), Type="String")
        if apply:
            emulator.set_override(self.id, region, certificate)
        return name

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
        # moto 5.2.5 leaves CertificateDetails out; its serializer picks this attribute up.
        instance = rds_backends[self.id][region].databases[identifier]
        instance.certificate_details = {"CAIdentifier": certificate, "ValidTill": valid_till}


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
