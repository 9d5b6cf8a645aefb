"""Custom resource requests exactly as CloudFormation sends them to a Lambda function."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import settings


def cfn_stringify(value: Any) -> Any:
    """Convert a property value the way CloudFormation delivers it: every scalar becomes a string.

    ``True``/``False`` become ``"true"``/``"false"``, numbers ``str(n)``; lists and mappings are converted
    recursively, and mapping entries whose value is None are dropped (as ``AWS::NoValue`` removes them).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): cfn_stringify(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [cfn_stringify(v) for v in value]
    raise TypeError(f"CloudFormation cannot carry a {type(value).__name__} property value: {value!r}")


def make_event(
    request_type: str,
    properties: Mapping[str, Any],
    *,
    response_url: str,
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    logical_id: str = settings.LOGICAL_ID,
    stack_id: str = settings.STACK_ID,
    resource_type: str = settings.RESOURCE_TYPE,
    service_token: str = settings.SERVICE_TOKEN,
) -> dict[str, Any]:
    """A custom resource request exactly as CloudFormation sends it to a Lambda function.

    CloudFormation sends every property value as a string: ``properties`` and ``old_properties`` go through
    ``cfn_stringify`` (``True`` -> ``"true"``, ``300`` -> ``"300"``, recursively). ``ServiceToken`` is added
    to both property maps and at the top level, as CloudFormation does; do not put it in ``properties``.

    ``physical_id`` is required for Update and Delete and refused for Create; ``old_properties`` is required
    for Update and refused otherwise. ``request_id`` defaults to the one ``response_url`` was issued for (its
    last path segment, after the last ``|`` as in CloudFormation's keys), else a new UUID.
    """
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError(f"RequestType must be Create, Update or Delete, not {request_type!r}")
    if (physical_id is None) != (request_type == "Create"):
        raise ValueError(
            f"{request_type} {'must not' if request_type == 'Create' else 'must'} have a physical_id"
        )
    if (old_properties is None) == (request_type == "Update"):
        raise ValueError(
            f"{request_type} {'must' if request_type == 'Update' else 'must not'} have old_properties"
        )
    if "ServiceToken" in properties or "ServiceToken" in (old_properties or {}):
        raise ValueError("pass the ServiceToken as service_token=, not as a property")
    if request_id is None:
        request_id = unquote(urlsplit(response_url).path.rpartition("/")[2]).rpartition("|")[2] or str(
            uuid.uuid4()
        )

    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    event["ResourceProperties"] = {"ServiceToken": service_token, **cfn_stringify(properties)}
    if old_properties is not None:
        event["OldResourceProperties"] = {"ServiceToken": service_token, **cfn_stringify(old_properties)}
    return event
