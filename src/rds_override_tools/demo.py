"""`make demo`: a CloudFormation stack lifecycle of template.yaml, played on this machine.

The RDS certificate emulator runs on moto's server (127.0.0.1), a local HTTPS server stands in for the
presigned S3 ResponseURL, and every event runs the built artifact in a fresh Python process, as a Lambda
cold start would (``rds_override_tools.local.cloud``).
"""

from __future__ import annotations

import argparse
import os
import sys

from rds_override_tools.local.cloud import LocalCloud, local_cloud
from rds_override_tools.local.cloudformation import Invocation
from rds_override_tools.local.rds_emulator import RDSCall


def _show(step: int, title: str, invocation: Invocation, rds_calls: list[RDSCall], default: str) -> None:
    answer = invocation.response or {}
    print(f"[{step}] {title}")
    print(
        f"    answer     {answer.get('Status', 'NO ANSWER')}  ({invocation.wall_s:.2f} s, one cold process)"
    )
    print(f"    physical   {answer.get('PhysicalResourceId', '')}")
    if answer.get("Reason"):
        print(f"    reason     {answer['Reason']}")
    if answer.get("Data"):
        print(f"    attributes CertificateArn={answer['Data']['CertificateArn']}")
        print(f"               ValidTill={answer['Data']['ValidTill']}", end="")
        print(f" PreviousCertificateIdentifier={answer['Data']['PreviousCertificateIdentifier'] or '(none)'}")
    print(f"    RDS calls  {', '.join(call.action for call in rds_calls) or '(none)'}")
    print(f"    RDS now    DefaultCertificateForNewLaunches = {default}")


def run_demo(cloud: LocalCloud) -> list[str]:
    """Play the lifecycle; returns what did not go as CloudFormation would expect (empty = all good)."""
    problems: list[str] = []

    def step(number: int, title: str, invocation: Invocation, status: str, default: str) -> str:
        rds_calls = cloud.rds_calls()
        now = cloud.default_for_new_launches()
        _show(number, title, invocation, rds_calls, now)
        answer = invocation.response or {}
        if answer.get("Status") != status:
            problems.append(f"step {number}: expected {status}, got {answer.get('Status')}")
        if now != default:
            problems.append(f"step {number}: expected the default {default}, got {now}")
        if not answer.get("PhysicalResourceId"):
            problems.append(f"step {number}: empty PhysicalResourceId")
        return str(answer.get("PhysicalResourceId", ""))

    print(f"Region {cloud.region}: DefaultCertificateForNewLaunches = {cloud.default_for_new_launches()}\n")
    v1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1", "RestorePreviousOnDelete": False}
    created = cloud.send("Create", v1)
    physical_id = step(
        1, "Create  CertificateIdentifier=rds-ca-rsa4096-g1", created, "SUCCESS", "rds-ca-rsa4096-g1"
    )

    v2 = {**v1, "CertificateIdentifier": "rds-ca-ecc384-g1"}
    updated = cloud.send("Update", v2, physical_id=physical_id, old_properties=v1)
    step(2, "Update  CertificateIdentifier=rds-ca-ecc384-g1", updated, "SUCCESS", "rds-ca-ecc384-g1")
    if (updated.response or {}).get("PhysicalResourceId") != physical_id:
        problems.append("step 2: an in-place update changed the physical id")

    deleted = cloud.send("Delete", v2, physical_id=physical_id)
    step(3, "Delete  (removes the override this stack set)", deleted, "SUCCESS", "rds-ca-rsa2048-g1")

    print("\n    ...another team sets rds-ca-rsa2048-g1 as an override by hand...\n")
    cloud.rds().modify_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")
    typo = {"CertificateIdentifier": "rds-ca-rsa4096-g2"}
    failed = cloud.send("Create", typo)
    failed_id = step(
        4, "Create  CertificateIdentifier=rds-ca-rsa4096-g2 (a typo)", failed, "FAILED", "rds-ca-rsa2048-g1"
    )
    cleanup = cloud.send("Delete", typo, physical_id=failed_id)
    step(
        5,
        "Delete  after the failed Create (the other team's override stays)",
        cleanup,
        "SUCCESS",
        "rds-ca-rsa2048-g1",
    )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True, help="the built function (sam build output)")
    parser.add_argument("--runtime-sdk", required=True, help="boto3 as the Lambda runtime provides it")
    parser.add_argument("--python", default=os.environ.get("RUNTIME_PYTHON") or None)
    args = parser.parse_args()
    with local_cloud([args.artifact, args.runtime_sdk], python=args.python) as cloud:
        problems = run_demo(cloud)
    print()
    if problems:
        print("DEMO FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("Demo OK: every answer and every override was what CloudFormation and the other team expect.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
