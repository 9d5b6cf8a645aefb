"""Pure decisions of the RDS certificate override resource: no AWS calls, no logging.

Everything here takes plain data (the CloudFormation properties, the physical id, what DescribeCertificates
returned) and says what to do, so that it can be tested exhaustively without an emulator.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The resource's properties; CloudFormation adds ServiceToken and ServiceTimeout to every custom resource.
CERTIFICATE_IDENTIFIER = "CertificateIdentifier"
REGION = "Region"
RESTORE_PREVIOUS_ON_DELETE = "RestorePreviousOnDelete"
OUR_PROPERTIES = (CERTIFICATE_IDENTIFIER, REGION, RESTORE_PREVIOUS_ON_DELETE)
SERVICE_TIMEOUT = "ServiceTimeout"
CLOUDFORMATION_PROPERTIES = ("ServiceToken", SERVICE_TIMEOUT)

# Region names are not all of one shape (`eusc-de-east-1`): properties are checked against the SDK's list;
# a physical id only needs a token that cannot hold the separator.
_REGION_TOKEN = re.compile(r"[a-z0-9-]+")
_BOOLEAN_STRINGS = {"true": True, "false": False}

# Physical ids are `rds-certificate-override:v1:<region>:<previous override or ->:<stack digest>`.
# They carry what Delete needs to know, because a custom resource has no other place to keep state.
PHYSICAL_ID_PREFIX = "rds-certificate-override"
_PHYSICAL_ID_VERSION = "v1"
_NO_PREVIOUS = "-"
_CREATE_FAILED = "create-failed"
_NOTHING_CHANGED = "nothing-changed"
# CloudFormation's default and longest wait for an answer (the ServiceTimeout property, 1-3600 s).
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600


class PropertyError(ValueError):
    """A resource property is missing, unknown or malformed. The message names it and the valid choices."""


class CertificateError(ValueError):
    """The requested CA does not exist in the region, or has expired."""


@dataclass(frozen=True)
class OverrideProperties:
    certificate_identifier: str
    region: str
    restore_previous_on_delete: bool


def parse_properties(
    raw: Mapping[str, Any], *, default_region: str, known_regions: Collection[str] = ()
) -> OverrideProperties:
    """Validate the ResourceProperties of a Create or Update. Raises PropertyError on the first problem.

    `known_regions` (when not empty) is the list of RDS regions the SDK knows in the function's partition,
    so that a typo such as `eu-west-l` fails at once instead of after the SDK's retries against a host that
    does not exist. Region names are not all of one shape (`eusc-de-east-1`): the SDK's list is the truth.
    """
    unknown = sorted(set(raw) - set(OUR_PROPERTIES) - set(CLOUDFORMATION_PROPERTIES))
    if unknown:
        raise PropertyError(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: "
            f"valid properties are {', '.join(OUR_PROPERTIES)}"
        )

    for name in OUR_PROPERTIES:
        value = raw.get(name)
        boolean = name == RESTORE_PREVIOUS_ON_DELETE
        if value is not None and not isinstance(value, (str, bool) if boolean else str):
            expected = "true or false" if boolean else "a string"
            raise PropertyError(f"{name} must be {expected}, got {_type_name(value)}")

    timeout = raw.get(SERVICE_TIMEOUT)
    if timeout not in (None, "") and _valid_service_timeout(timeout) is None:
        raise PropertyError(
            f"{SERVICE_TIMEOUT} must be whole seconds from 1 to {DEFAULT_SERVICE_TIMEOUT_SECONDS} (how long "
            f"CloudFormation waits for the answer), not {timeout!r}"
        )

    certificate_identifier = raw.get(CERTIFICATE_IDENTIFIER)
    if not isinstance(certificate_identifier, str) or not certificate_identifier.strip():
        raise PropertyError(
            f"{CERTIFICATE_IDENTIFIER} is required: the RDS CA to make the default for new DB instances, "
            "e.g. rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1"
        )

    region = raw.get(REGION)
    if region is None or region == "":
        region = default_region
    elif known_regions and region not in known_regions:
        raise PropertyError(
            f"{REGION} {region!r} is not a region where RDS is available: "
            f"valid regions are {', '.join(sorted(known_regions))}"
        )

    return OverrideProperties(
        certificate_identifier=certificate_identifier,
        region=region,
        restore_previous_on_delete=parse_boolean(
            RESTORE_PREVIOUS_ON_DELETE, raw.get(RESTORE_PREVIOUS_ON_DELETE), default=False
        ),
    )


def _type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def parse_boolean(name: str, value: Any, *, default: bool) -> bool:
    """CloudFormation sends booleans as strings; accept "true"/"false" in any case, and JSON booleans."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_STRINGS:
        return _BOOLEAN_STRINGS[value.strip().lower()]
    raise PropertyError(f"{name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class PhysicalId:
    """What a successful Create tells every later Update and Delete."""

    region: str
    previous_override: str | None
    stack_digest: str

    def __str__(self) -> str:
        previous = self.previous_override or _NO_PREVIOUS
        return ":".join((PHYSICAL_ID_PREFIX, _PHYSICAL_ID_VERSION, self.region, previous, self.stack_digest))

    @classmethod
    def parse(cls, value: str | None) -> PhysicalId | None:
        """The PhysicalId a successful Create issued, or None for anything else (a failed Create's
        marker, a placeholder CloudFormation made up, another resource's id)."""
        parts = (value or "").split(":")
        if len(parts) != 5 or parts[0] != PHYSICAL_ID_PREFIX or parts[1] != _PHYSICAL_ID_VERSION:
            return None
        _, _, region, previous, digest = parts
        if not _REGION_TOKEN.fullmatch(region) or not previous or not digest:
            return None
        return cls(region, None if previous == _NO_PREVIOUS else previous, digest)


def stack_digest(stack_id: str, logical_resource_id: str) -> str:
    """Short, stable per-resource token: the same resource always gets the same one."""
    return hashlib.sha256(f"{stack_id}|{logical_resource_id}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class FailedCreateId:
    """The id a failed Create answers with: non-empty, as CloudFormation requires, and not a PhysicalId.

    It carries the Create's RequestId, so that the Delete CloudFormation sends after it can find what that
    Create recorded in the ledger (its write may have landed after the answer) and undo only that; and
    whether the Create may have changed anything: when it cannot have (a refusing region, a conflict, a bad
    property), the Delete has nothing to undo and answers at once.
    """

    request_id: str
    may_have_changed: bool = True

    def __str__(self) -> str:
        kind = _CREATE_FAILED if self.may_have_changed else _NOTHING_CHANGED
        return f"{PHYSICAL_ID_PREFIX}:{kind}:{self.request_id}"

    @classmethod
    def parse(cls, value: str | None) -> FailedCreateId | None:
        prefix, _, rest = (value or "").partition(":")
        kind, _, request_id = rest.partition(":")
        if prefix != PHYSICAL_ID_PREFIX or kind not in (_CREATE_FAILED, _NOTHING_CHANGED) or not request_id:
            return None
        return cls(request_id, may_have_changed=kind == _CREATE_FAILED)


def failed_create_physical_id(request_id: str) -> str:
    """The id of a Create that failed at an unknown step (the timer's answer): it may have changed things."""
    return str(FailedCreateId(request_id))


def signed_at(response_url: str) -> datetime | None:
    """When CloudFormation signed the request's presigned ResponseURL (SigV4 `X-Amz-Date`): when it sent
    the request. None for the SigV2 form, which does not say."""
    signed = _first(parse_qs(urlsplit(response_url).query), "X-Amz-Date")
    try:
        return datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if signed else None
    except ValueError:
        return None


def answer_deadline(response_url: str, service_timeout: Any) -> datetime | None:
    """When CloudFormation stops waiting for the answer to the request `response_url` was made for, read
    from the presigned URL itself (no call): SigV4 signs it at `X-Amz-Date`, and CloudFormation waits
    `ServiceTimeout` from then; both forms say when the URL itself expires. None when it cannot tell."""
    query = parse_qs(urlsplit(response_url).query)
    deadlines = []
    if (signed := signed_at(response_url)) is not None:
        # Read before the properties are checked (a late event is refused whatever they hold): the
        # default hour when malformed, which parse_properties then refuses.
        timeout = _valid_service_timeout(service_timeout) or DEFAULT_SERVICE_TIMEOUT_SECONDS
        deadlines.append(signed + timedelta(seconds=timeout))
        if (valid_for := _first(query, "X-Amz-Expires")) and valid_for.isdigit():
            deadlines.append(signed + timedelta(seconds=int(valid_for)))
    if (expires := _first(query, "Expires")) and expires.isdigit():
        deadlines.append(datetime.fromtimestamp(int(expires), UTC))
    return min(deadlines, default=None)


def _first(query: Mapping[str, list[str]], key: str) -> str:
    return query.get(key, [""])[0]


def _valid_service_timeout(value: Any) -> int | None:
    """The ServiceTimeout property (CloudFormation sends "300"; a number too) in seconds, 1-3600; None when
    it is anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if isinstance(value, int) and 1 <= value <= DEFAULT_SERVICE_TIMEOUT_SECONDS:
        return value
    return None


@dataclass(frozen=True)
class Certificate:
    """The fields of an RDS `Certificate` this resource uses."""

    identifier: str
    arn: str
    certificate_type: str
    thumbprint: str
    valid_from: datetime
    valid_till: datetime
    customer_override: bool
    customer_override_valid_till: datetime | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Certificate:
        return cls(
            identifier=raw["CertificateIdentifier"],
            arn=raw.get("CertificateArn", ""),
            certificate_type=raw.get("CertificateType", ""),
            thumbprint=raw.get("Thumbprint", ""),
            valid_from=raw["ValidFrom"],
            valid_till=raw["ValidTill"],
            customer_override=bool(raw.get("CustomerOverride", False)),
            customer_override_valid_till=raw.get("CustomerOverrideValidTill"),
        )

    def expired(self, now: datetime) -> bool:
        return self.valid_till <= now


def current_override(certificates: Collection[Certificate]) -> str | None:
    """The customer override standing in a region, or None when new instances get the system default."""
    return next((c.identifier for c in certificates if c.customer_override), None)


def choose_certificate(certificates: Collection[Certificate], wanted: str, now: datetime) -> Certificate:
    """The certificate to make the default. Raises CertificateError naming the valid choices."""
    by_id = {c.identifier: c for c in certificates}
    valid = sorted(c.identifier for c in certificates if not c.expired(now))
    chosen = by_id.get(wanted)
    if chosen is None:
        raise CertificateError(
            f"{CERTIFICATE_IDENTIFIER} {wanted!r} is not an RDS CA certificate in this region: "
            f"valid choices are {', '.join(valid) or 'none'}"
        )
    if chosen.expired(now):
        raise CertificateError(
            f"{CERTIFICATE_IDENTIFIER} {wanted!r} expired on {iso8601(chosen.valid_till)}: "
            f"valid choices are {', '.join(valid) or 'none'}"
        )
    return chosen


class DeleteAction(Enum):
    LEAVE = "leave"
    REMOVE = "remove"
    RESTORE = "restore"


@dataclass(frozen=True)
class DeletePlan:
    action: DeleteAction
    reason: str
    restore_to: str | None = None
    warning: bool = False


def plan_delete(  # noqa: PLR0911 - one return per outcome reads best
    *,
    declared: str | None,
    previous: str | None,
    restore_previous: bool,
    standing_override: str | None,
    valid_certificates: Collection[str],
    co_declarers: Sequence[str] = (),
    write_confirmed: bool = True,
) -> DeletePlan:
    """Decide what a Delete does. It only touches an override this resource set, when no other live
    resource declares it (`co_declarers` names them): the last one out removes it, or restores `previous`
    (what stood before the first declaration) when `restore_previous`. `write_confirmed` is False for a
    declaration recorded before a write whose outcome is unknown (a Create that timed out)."""
    if co_declarers:
        return DeletePlan(
            DeleteAction.LEAVE, f"the override {declared} is still declared by {', '.join(co_declarers)}"
        )
    if standing_override is None:
        return DeletePlan(DeleteAction.LEAVE, "the region has no override")
    if standing_override != declared:
        if not write_confirmed:
            return DeletePlan(DeleteAction.LEAVE, f"the write of {declared} never landed: nothing to undo")
        return DeletePlan(
            DeleteAction.LEAVE,
            f"the standing override {standing_override} is not the declared {declared}: "
            "it was changed outside this resource and is left as it is",
            warning=True,
        )
    if restore_previous and previous:
        if previous == standing_override:
            return DeletePlan(DeleteAction.LEAVE, f"the previous override {previous} is already standing")
        if previous in valid_certificates:
            return DeletePlan(DeleteAction.RESTORE, f"restoring the previous override {previous}", previous)
        return DeletePlan(
            DeleteAction.REMOVE,
            f"the previous override {previous} is no longer a valid certificate: removing the override",
            warning=True,
        )
    return DeletePlan(DeleteAction.REMOVE, f"removing the override {standing_override}")


def attributes(certificate: Certificate, *, region: str, previous_override: str | None) -> dict[str, str]:
    """The resource's Fn::GetAtt attributes (all strings, dates in ISO 8601 UTC)."""
    override_till = certificate.customer_override_valid_till
    return {
        "CertificateIdentifier": certificate.identifier,
        "CertificateArn": certificate.arn,
        "CertificateType": certificate.certificate_type,
        "Thumbprint": certificate.thumbprint,
        "ValidFrom": iso8601(certificate.valid_from),
        "ValidTill": iso8601(certificate.valid_till),
        "CustomerOverrideValidTill": iso8601(override_till) if override_till else "",
        "Region": region,
        "PreviousCertificateIdentifier": previous_override or "",
    }


def iso8601(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
