"""`make invoke EVENT=events/create.json`: play one CloudFormation request against the local RDS emulator.

The event goes to the built function in a fresh Python process (a cold start), with its ResponseURL
replaced by one of the local HTTPS stand-in for S3, exactly as `make demo` plays its events; what the
function PUT there is what CloudFormation would get, and is printed: SUCCESS or FAILED, the Reason, the
physical id and the attributes. No Docker, no AWS account (`sam local invoke` needs Docker).

The emulator starts with the RDS system default. An Update or a Delete is a request about a resource that
an earlier Create made: unless told otherwise (`--override`), the override that request left is standing
first (the Update's old CertificateIdentifier, the Delete's declared one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cfn_driver import Invocation, invoke
from demo import DEFAULT_REGION, LocalStack, local_stack

NO_OVERRIDE = "none"


def function_region(event: dict[str, Any]) -> str:
    """The function's own region: the one its ARN (the ServiceToken) names."""
    parts = str(event.get("ServiceToken", "")).split(":")
    return parts[3] if len(parts) > 3 and parts[3] else DEFAULT_REGION


def standing_override(event: dict[str, Any]) -> str | None:
    """The override an earlier request of the same resource would have left standing, if any."""
    if event["RequestType"] == "Update":
        return event.get("OldResourceProperties", {}).get("CertificateIdentifier") or None
    if event["RequestType"] == "Delete":
        return event.get("ResourceProperties", {}).get("CertificateIdentifier") or None
    return None


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


def play(stack: LocalStack, event: dict[str, Any]) -> Invocation:
    """Send `event` to the function with a ResponseURL of the local server instead of S3's."""
    local_event = {**event, "ResponseURL": stack.server.response_url(str(event["RequestId"]))}
    return invoke(
        local_event,
        server=stack.server,
        code_dirs=stack.code_dirs,
        env=stack.environment(),
        python=stack.python,
        timeout_s=stack.timeout_s,
    )


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
        help="the override standing before the request, or 'none' for the RDS system default "
        "(default: what an earlier request of the resource left: none for a Create)",
    )
    args = parser.parse_args(argv)
    event = load_event(args.event)
    override = standing_override(event) if args.override is None else args.override
    if override == NO_OVERRIDE:
        override = None

    region = function_region(event)
    # The region whose override the request manages: its Region property, else the function's.
    target = event.get("ResourceProperties", {}).get("Region") or region
    with local_stack([args.artifact, args.runtime_sdk], python=args.python, region=region) as stack:
        print(f"{args.event}: {event['RequestType']} of {event['LogicalResourceId']}, function in {region}")
        if override:
            try:
                stack.rds(target).modify_certificates(CertificateIdentifier=override)
            except stack.rds(target).exceptions.CertificateNotFoundFault as error:
                raise SystemExit(f"override {override!r}: {error}") from error
        before = stack.describe_default(target)
        earlier_calls = len(stack.rds_calls())
        invocation = play(stack, event)
        rds_calls = stack.rds_calls()[earlier_calls:]
        lines = report(invocation, before=before, after=stack.describe_default(target), rds_calls=rds_calls)
    print("\n".join(lines))
    return 0 if (invocation.response or {}).get("Status") == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
