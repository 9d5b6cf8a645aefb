"""SDK sessions and clients for the operator commands: one client per (account, region, service), made once.

Clients of every account come from one boto3 session (its loaded service models are shared); an account
reached through an assumed role gets its clients with that role's keys. boto3 sessions are not thread-safe,
so clients are made under a lock; the clients themselves are, and are shared by the worker threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

# Codes AWS answers in a region the account has not enabled (opt-in regions), or where its credentials
# are not valid.
REGION_NOT_ENABLED_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"}
)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


class Clients:
    """Clients per (account, region, service); `home_region` serves STS, EC2 DescribeRegions and Organizations."""

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        home_region: str,
        endpoint_url: str | None = None,
        max_connections: int = 10,
    ) -> None:
        self.session = session
        self.home_region = home_region
        self.endpoint_url = endpoint_url
        # Standard retries: throttling and transient errors are retried with backoff, up to 3 attempts.
        self._config = Config(retries={"mode": "standard"}, max_pool_connections=max_connections)
        self._credentials: dict[str, Credentials | None] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def add_account(self, account: str, credentials: Credentials | None) -> None:
        """Clients of `account` use `credentials`; None: the session's own (the caller's account)."""
        self._credentials[account] = credentials

    def _client(self, account: str, region: str, service: str) -> Any:
        key = (account, region, service)
        with self._lock:
            if key not in self._clients:
                credentials = self._credentials[account]
                keys = (
                    {
                        "aws_access_key_id": credentials.access_key_id,
                        "aws_secret_access_key": credentials.secret_access_key,
                        "aws_session_token": credentials.session_token,
                    }
                    if credentials
                    else {}
                )
                self._clients[key] = self.session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=self._config,
                    **keys,
                )
            return self._clients[key]

    def rds(self, account: str, region: str) -> RDSClient:
        client: RDSClient = self._client(account, region, "rds")
        return client

    def ssm(self, account: str, region: str) -> SSMClient:
        client: SSMClient = self._client(account, region, "ssm")
        return client

    def cloudformation(self, account: str, region: str) -> CloudFormationClient:
        client: CloudFormationClient = self._client(account, region, "cloudformation")
        return client

    def ec2(self, account: str) -> EC2Client:
        client: EC2Client = self._client(account, self.home_region, "ec2")
        return client

    def sts(self, account: str) -> STSClient:
        client: STSClient = self._client(account, self.home_region, "sts")
        return client

    def organizations(self, account: str) -> OrganizationsClient:
        client: OrganizationsClient = self._client(account, self.home_region, "organizations")
        return client


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def assume_role(clients: Clients, caller_account: str, arn: str) -> Credentials:
    """Keys for `arn` (valid one hour, the STS default: longer than a status run)."""
    answer = clients.sts(caller_account).assume_role(RoleArn=arn, RoleSessionName="rds-certificate-override-status")
    credentials = answer["Credentials"]
    return Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


def enabled_regions(clients: Clients, account: str) -> list[str]:
    """The regions the account can use: EC2 DescribeRegions without AllRegions lists exactly those
    (opt-in-not-required and opted-in), in every partition, with one permission most read-only roles have."""
    answer = clients.ec2(account).describe_regions()
    return sorted(region["RegionName"] for region in answer["Regions"])


def active_accounts(clients: Clients, caller_account: str) -> list[str]:
    """ACTIVE accounts of the caller's organization (management or delegated administrator account)."""
    paginator = clients.organizations(caller_account).get_paginator("list_accounts")
    return sorted(
        account["Id"]
        for page in paginator.paginate()
        for account in page["Accounts"]
        # State replaces the deprecated Status; older SDKs and emulators only have Status.
        if account.get("State", account.get("Status")) == "ACTIVE"
    )
