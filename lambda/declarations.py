"""The declarations ledger: which resource declared which CA for a region. Pure data and decisions.

The RDS setting is one per account and region, but any number of resources, in any stacks and regions, can
declare it. Each declaration is one standard SSM parameter in the *target* region (where every provider that
manages the region can see it; `ledger.py` makes the calls):

    /rds-certificate-override/declarations/<stack name>/<stack uuid>/<logical id>

readable in the console and by `aws ssm get-parameters-by-path`, scoped in IAM by the path, unique per
resource (a stack's uuid is never reused). Its value is the JSON of `Declaration`. A region lock,
`/rds-certificate-override/lock`, serialises the events for one region (see `ledger.region_lock`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

LEDGER_PATH = "/rds-certificate-override"
DECLARATIONS_PATH = f"{LEDGER_PATH}/declarations"
LOCK_NAME = f"{LEDGER_PATH}/lock"
FORMAT_VERSION = 1


class WriteState(StrEnum):
    PENDING = "pending"
    """Recorded before ModifyCertificates: the write may or may not have landed."""
    APPLIED = "applied"
    """The declared CA was confirmed standing (written, or already there)."""


class ConflictError(RuntimeError):
    """Another live resource declares a different CA for the region."""


@dataclass(frozen=True)
class StackRef:
    """A CloudFormation stack ARN: arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>."""

    arn: str
    region: str
    name: str
    uuid: str

    @classmethod
    def parse(cls, arn: str) -> StackRef | None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "cloudformation":
            return None
        kind, _, rest = parts[5].partition("/")
        name, _, uuid = rest.partition("/")
        if kind != "stack" or not name or not uuid or "/" in uuid:
            return None
        return cls(arn=arn, region=parts[3], name=name, uuid=uuid)


def parameter_name(stack_id: str, logical_id: str) -> str:
    """The declaration's SSM parameter name. Stack names, stack uuids and logical ids only hold characters
    that SSM names allow; anything else (never sent by CloudFormation) gets a digest instead."""
    stack = StackRef.parse(stack_id)
    if stack is None or not logical_id.isalnum():
        digest = hashlib.sha256(f"{stack_id}|{logical_id}".encode()).hexdigest()[:32]
        return f"{DECLARATIONS_PATH}/other/{digest}"
    return f"{DECLARATIONS_PATH}/{stack.name}/{stack.uuid}/{logical_id}"


@dataclass(frozen=True)
class Declaration:
    """What one resource declared for the region, and what stood before the region's first declaration."""

    stack_id: str
    logical_id: str
    certificate: str
    previous_override: str | None
    restore_previous: bool
    state: WriteState
    request_id: str
    updated_at: str

    @property
    def name(self) -> str:
        return parameter_name(self.stack_id, self.logical_id)

    @property
    def holder(self) -> str:
        """The declaring resource, as people know it: `stack <name>, resource <logical id>`."""
        stack = StackRef.parse(self.stack_id)
        return f"stack {stack.name if stack else self.stack_id}, resource {self.logical_id}"

    def to_json(self) -> str:
        """The parameter's value: the names people see in the console and `aws ssm get-parameter`."""
        return json.dumps(
            {
                "Version": FORMAT_VERSION,
                "StackId": self.stack_id,
                "LogicalResourceId": self.logical_id,
                "CertificateIdentifier": self.certificate,
                "PreviousOverride": self.previous_override,
                "RestorePreviousOnDelete": self.restore_previous,
                "State": self.state.value,
                "RequestId": self.request_id,
                "UpdatedAt": self.updated_at,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Declaration:
        """Raises ValueError for a value this version cannot read."""
        raw: Any = json.loads(text)
        if not isinstance(raw, dict) or raw.get("Version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} declaration")
        try:
            return cls(
                stack_id=str(raw["StackId"]),
                logical_id=str(raw["LogicalResourceId"]),
                certificate=str(raw["CertificateIdentifier"]),
                previous_override=raw.get("PreviousOverride") or None,
                restore_previous=raw.get("RestorePreviousOnDelete") is True,
                state=WriteState(raw["State"]),
                request_id=str(raw.get("RequestId", "")),
                updated_at=str(raw.get("UpdatedAt", "")),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"missing or malformed field {error}") from error

    def same_declaration(self, other: Declaration) -> bool:
        """True when recording `other` would change nothing but the request id and the time."""
        return replace(self, request_id="", updated_at="") == replace(other, request_id="", updated_at="")


def split_own(
    declarations: Iterable[Declaration], stack_id: str, logical_id: str
) -> tuple[Declaration | None, list[Declaration]]:
    """This resource's declaration (if recorded) and everyone else's."""
    own_name = parameter_name(stack_id, logical_id)
    own = None
    others = []
    for declaration in declarations:
        if declaration.name == own_name:
            own = declaration
        else:
            others.append(declaration)
    return own, others


def conflicting(others: Iterable[Declaration], wanted: str) -> list[Declaration]:
    """The declarations of another CA than `wanted`: each one, if live, refuses the change."""
    return [declaration for declaration in others if declaration.certificate != wanted]


def conflict_message(region: str, wanted: str, holder: Declaration) -> str:
    return (
        f"CertificateIdentifier {wanted} conflicts with {holder.certificate}, which {holder.holder} "
        f"declares for {region}: the default CA is one per account and region. Nothing was changed. "
        f"Declare {holder.certificate} here too, or first change or delete that declaration."
    )


def previous_override(
    *,
    own: Declaration | None,
    legacy_previous: str | None,
    others: Iterable[Declaration],
    standing: str | None,
) -> str | None:
    """What stood before the region's first declaration: recorded once and then carried along, so that a
    redelivered Create or a joining resource does not mistake a declared override for the one before."""
    if own is not None:
        return own.previous_override
    if legacy_previous is not None:
        return legacy_previous  # a resource created before the ledger carries it in its physical id
    for other in others:
        return other.previous_override
    return standing


def lock_value(holder: Mapping[str, str], expires_at: float) -> str:
    return json.dumps({**holder, "ExpiresAt": round(expires_at, 3)}, separators=(",", ":"))


def lock_expired(value: str, now: float) -> bool:
    """A lock whose lease has run out (its holder was stopped): it may be taken over. Unreadable: expired."""
    try:
        expires_at = float(json.loads(value)["ExpiresAt"])
    except (ValueError, KeyError, TypeError):
        return True
    return expires_at <= now
