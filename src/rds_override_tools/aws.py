"""SDK clients for the operator commands: one client per (region, service), made once, serving every account.

Why not one client per account as well: making a botocore client costs 10-15 ms of CPU (its class, its
event handlers, its endpoint resolver are built anew each time), so 50 accounts x 17 regions x 2 services
would spend ~20 s on clients alone, more than the reads. Instead each client signs every request (retries
included) with the credentials of the account the calling thread works for: `with clients.account(id):`
sets it (a context variable, so each worker thread has its own), and `_AccountCredentials` looks it up when
botocore asks for the credentials to sign with. Clients are made under a lock (botocore sessions are not
thread-safe); clients themselves are thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, Credentials, ReadOnlyCredentials

if TYPE_CHECKING:
    from botocore.config import _RetryDict
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

# The account of the session's own credentials, before its id is known.
CALLER = "caller"

_current_account: ContextVar[str] = ContextVar("account", default=CALLER)


class _AccountCredentials(Credentials):
    """The credentials of the account the current thread works for (`Clients.account`)."""

    def __init__(self, by_account: dict[str, Credentials]) -> None:
        super().__init__("", "", method="rds-certificate-override-accounts")
        self._by_account = by_account

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._by_account[_current_account.get()].get_frozen_credentials()


class _AccountCredentialProvider(CredentialProvider):
    METHOD = "rds-certificate-override-accounts"

    def __init__(self, credentials: _AccountCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> _AccountCredentials:
        return self._credentials


class NoCredentialsError(Exception):
    """The session found no credentials (environment, profile, SSO, instance role...)."""


class Clients:
    """Clients per (region, service); `home_region` serves STS, EC2 DescribeRegions and Organizations."""

    def __init__(
        self,
        *,
        home_region: str,
        endpoint_url: str | None = None,
        max_connections: int = 10,
        retries: _RetryDict | None = None,
    ) -> None:
        # The caller's credentials, found the usual way (environment, AWS_PROFILE, SSO, instance role...).
        caller = botocore.session.Session().get_credentials()
        if caller is None:
            raise NoCredentialsError("no AWS credentials found (environment, profile, SSO or instance role)")
        self._by_account: dict[str, Credentials] = {CALLER: caller}
        self._botocore = botocore.session.Session()
        self._botocore.get_component("credential_provider").insert_before(
            "env", _AccountCredentialProvider(_AccountCredentials(self._by_account))
        )
        self.home_region = home_region
        self.endpoint_url = endpoint_url
        # Standard retries (unless told otherwise): throttling and transient errors are retried with backoff,
        # up to 3 attempts. `rotate --apply` asks for adaptive mode (client-side rate limiting) and more.
        self._config = Config(retries=retries or {"mode": "standard"}, max_pool_connections=max_connections)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def add_account(self, account: str, credentials: Credentials | None) -> None:
        """Requests made in `account(account)` sign with `credentials`; None: the caller's own."""
        self._by_account[account] = credentials or self._by_account[CALLER]

    @staticmethod
    @contextmanager
    def account(account: str) -> Iterator[None]:
        """Every request this thread makes inside is signed for `account` (see add_account)."""
        token = _current_account.set(account)
        try:
            yield
        finally:
            _current_account.reset(token)

    def _client(self, region: str, service: str) -> Any:
        key = (region, service)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._botocore.create_client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
            return self._clients[key]

    def rds(self, region: str) -> RDSClient:
        client: RDSClient = self._client(region, "rds")
        return client

    def ssm(self, region: str) -> SSMClient:
        client: SSMClient = self._client(region, "ssm")
        return client

    def cloudformation(self, region: str) -> CloudFormationClient:
        client: CloudFormationClient = self._client(region, "cloudformation")
        return client

    def ec2(self) -> EC2Client:
        client: EC2Client = self._client(self.home_region, "ec2")
        return client

    def sts(self) -> STSClient:
        client: STSClient = self._client(self.home_region, "sts")
        return client

    def organizations(self) -> OrganizationsClient:
        client: OrganizationsClient = self._client(self.home_region, "organizations")
        return client


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def assume_role(clients: Clients, arn: str) -> Credentials:
    """Keys for `arn`, asked with the caller's credentials (valid one hour, the STS default)."""
    with clients.account(CALLER):
        answer = clients.sts().assume_role(RoleArn=arn, RoleSessionName="rds-certificate-override-status")
    keys = answer["Credentials"]
    return Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])


def caller_identity(clients: Clients) -> tuple[str, str]:
    """(account id, partition) of the caller's credentials."""
    with clients.account(CALLER):
        identity = clients.sts().get_caller_identity()
    return identity["Account"], identity["Arn"].split(":")[1]


def enabled_regions(clients: Clients, account: str) -> list[str]:
    """The regions the account can use: EC2 DescribeRegions without AllRegions lists exactly those
    (opt-in-not-required and opted-in), in every partition, with one permission most read-only roles have."""
    with clients.account(account):
        answer = clients.ec2().describe_regions()
    return sorted(region["RegionName"] for region in answer["Regions"])


def active_accounts(clients: Clients) -> list[str]:
    """ACTIVE accounts of the caller's organization (management or delegated administrator account)."""
    with clients.account(CALLER):
        pages = list(clients.organizations().get_paginator("list_accounts").paginate())
    return sorted(
        account["Id"]
        for page in pages
        for account in page["Accounts"]
        # State replaces the deprecated Status; older SDKs and emulators only have Status.
        if account.get("State", account.get("Status")) == "ACTIVE"
    )


def accounts_in_ou(clients: Clients, ou_id: str) -> list[str]:
    """ACTIVE accounts of an organizational unit and of every unit under it (ListAccountsForParent,
    ListOrganizationalUnitsForParent), from the management or a delegated administrator account."""
    organizations = clients.organizations()
    found: set[str] = set()
    parents = [ou_id]
    with clients.account(CALLER):
        while parents:
            parent = parents.pop()
            for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                found.update(
                    account["Id"]
                    for account in page["Accounts"]
                    if account.get("State", account.get("Status")) == "ACTIVE"
                )
            units = organizations.get_paginator("list_organizational_units_for_parent")
            for unit_page in units.paginate(ParentId=parent):
                parents.extend(unit["Id"] for unit in unit_page["OrganizationalUnits"])
    return sorted(found)
