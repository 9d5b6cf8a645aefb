"""`make invoke EVENT=events/create.json`: play one CloudFormation request against the local RDS emulator.

The event goes to the built function in a fresh Python process (a cold start), through the same local
CloudFormation as `make demo` (``rds_override_local.cloud``): its ResponseURL is replaced by one of
the local HTTPS stand-in for S3, and what the function PUT there is what CloudFormation would get. It is
printed: SUCCESS or FAILED, the Reason, the physical id and the attributes. No Docker, no AWS account
(`sam local invoke` needs Docker). Run as `python -m rds_override_local.play_event EVENT --artifact ...`.

The emulator starts with the RDS system default (or, with ``--override``, an override set by hand). An Update
or a Delete is a request about a resource that an earlier Create made, and the function finds what that
Create declared in its ledger: so that Create is played first (same stack, same logical id, the earlier
properties), and said so, then the event.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from rds_override_local import settings
from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.cloudformation import CloudFormation, Invocation

NO_OVERRIDE = "none"


def function_region(event: dict[str, Any]) -> str:
    """The function's own region: the one its ARN (the ServiceToken) names."""
    parts = str(event.get("ServiceToken", "")).split(":")
    return parts[3] if len(parts) > 3 and parts[3] else settings.REGION


def the_create_before(event: dict[str, Any]) -> dict[str, Any] | None:
    """The Create that made the resource an Update or a Delete is about (None for a Create): the same stack
    and logical id, with the properties the resource had then."""
    if event["RequestType"] == "Create":
        return None
    earlier_key = "OldResourceProperties" if event["RequestType"] == "Update" else "ResourceProperties"
    create = {
        key: value
        for key, value in event.items()
        if key not in ("PhysicalResourceId", "OldResourceProperties", "ResourceProperties")
    }
    return {
        **create,
        "RequestType": "Create",
        "RequestId": str(uuid.uuid4()),
        "ResourceProperties": event.get(earlier_key) or {},
    }


def first_create_line(create: dict[str, Any], made: Invocation, event: dict[str, Any]) -> str:
    """What the Create played first did, and whether its physical id is the one the event names."""
    certificate = create["ResourceProperties"].get("CertificateIdentifier", "")
    physical_id = (made.response or {}).get("PhysicalResourceId", "")
    line = (
        f"first, the Create that made the resource (CertificateIdentifier={certificate}): "
        f"{made.status or 'NO ANSWER'}"
    )
    if made.status == "SUCCESS" and physical_id != event.get("PhysicalResourceId"):
        line += (
            f"\n    note: it answered PhysicalResourceId {physical_id}, not the event's "
            f"{event.get('PhysicalResourceId')}: the event plays as written"
        )
    return line


def load_event(path: Path) -> dict[str, Any]:
    try:
        event = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SystemExit(f"EVENT={path}: {error}") from error
    if not isinstance(event, dict) or event.get("RequestType") not in ("Create", "Update", "Delete"):
        raise SystemExit(
            f"EVENT={path} is not a CloudFormation custom resource request: "
            "RequestType must be Create, Update or Delete (see events/*.json)"
        )
    for key in ("RequestId", "StackId", "LogicalResourceId"):
        if not event.get(key):
            raise SystemExit(
                f"EVENT={path} has no {key}: CloudFormation always sends one (see events/*.json)"
            )
    return event


def play(cloud: LocalCloud, event: dict[str, Any]) -> Invocation:
    """Deliver `event` to the function with a ResponseURL of the local server instead of S3's."""
    stack = CloudFormation(
        cloud.function, stack_id=str(event["StackId"]), logical_id=str(event["LogicalResourceId"])
    )
    return stack.deliver({**event, "ResponseURL": cloud.function.response_url(str(event["RequestId"]))})


def describe_default(cloud: LocalCloud, region: str) -> str:
    """The default CA for new launches, and whether it is an override or the RDS system default."""
    answer = cloud.rds(region).describe_certificates()
    overridden = any(certificate.get("CustomerOverride") for certificate in answer["Certificates"])
    return f"{answer['DefaultCertificateForNewLaunches']} ({'override' if overridden else 'system default'})"


def report(invocation: Invocation, *, before: str, after: str, rds_calls: list[str]) -> list[str]:
    """The answer as CloudFormation would read it, then what changed in RDS."""
    answer = invocation.response
    if answer is None:
        return [
            "NO ANSWER: CloudFormation would wait for the ServiceTimeout, then fail the resource.",
            f"    exit code  {invocation.returncode}{' (timed out)' if invocation.timed_out else ''}",
            "    function log:",
            *("      " + line for line in invocation.logs.splitlines()),
        ]
    fields: list[tuple[str, str]] = []
    if answer.get("Reason"):
        fields.append(("Reason", str(answer["Reason"])))
    fields.append(("PhysicalResourceId", str(answer.get("PhysicalResourceId", ""))))
    fields += [(f"Data.{key}", str(value)) for key, value in (answer.get("Data") or {}).items()]
    fields += [
        ("RDS calls", ", ".join(rds_calls) or "(none)"),
        ("RDS before", f"DefaultCertificateForNewLaunches = {before}"),
        ("RDS after", f"DefaultCertificateForNewLaunches = {after}"),
    ]
    width = max(len(label) for label, _ in fields)
    return [
        str(answer.get("Status")),
        *(f"    {label:<{width}}  {value or '(empty)'}" for label, value in fields),
        f"    ({invocation.wall_s:.2f} s, one cold process)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="a CloudFormation request, such as events/create.json")
    parser.add_argument("--artifact", required=True, help="the built function (sam build output)")
    parser.add_argument("--runtime-sdk", required=True, help="boto3 as the Lambda runtime provides it")
    parser.add_argument("--python", default=os.environ.get("RUNTIME_PYTHON") or None)
    parser.add_argument(
        "--override",
        default=NO_OVERRIDE,
        help="an override set by hand before anything is played (another team's, say), or 'none' for the "
        "RDS system default (the default)",
    )
    args = parser.parse_args(argv)
    event = load_event(args.event)
    override = None if args.override == NO_OVERRIDE else args.override

    region = function_region(event)
    # The region whose override the request manages: its Region property, else the function's.
    target = event.get("ResourceProperties", {}).get("Region") or region
    with local_cloud([args.artifact, args.runtime_sdk], python=args.python, region=region) as cloud:
        print(f"{args.event}: {event['RequestType']} of {event['LogicalResourceId']}, function in {region}")
        if override:
            try:
                cloud.rds(target).modify_certificates(CertificateIdentifier=override)
            except cloud.rds(target).exceptions.CertificateNotFoundFault as error:
                raise SystemExit(f"override {override!r}: {error}") from error
            print(f"    (set by hand first: the override {override})")
        create = the_create_before(event)
        if create is not None:
            before = describe_default(cloud, target)
            made = play(cloud, create)
            print(first_create_line(create, made, event))
            if made.status != "SUCCESS":
                rds_calls = [call.action for call in cloud.rds_calls()]
                print(
                    "\n".join(
                        report(
                            made, before=before, after=describe_default(cloud, target), rds_calls=rds_calls
                        )
                    )
                )
                return 1
        before = describe_default(cloud, target)
        invocation = play(cloud, event)
        rds_calls = [call.action for call in cloud.rds_calls()]
        lines = report(invocation, before=before, after=describe_default(cloud, target), rds_calls=rds_calls)
    print("\n".join(lines))
    return 0 if invocation.status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
