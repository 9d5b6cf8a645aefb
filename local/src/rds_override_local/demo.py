"""`make demo`: a CloudFormation stack lifecycle of template.yaml, played on this machine.

The RDS certificate emulator runs on moto's server (127.0.0.1), a local HTTPS server stands in for the
presigned S3 ResponseURL, and every event runs the built artifact in a fresh Python process, as a Lambda
cold start would (``rds_override_local.cloud``).
"""

from __future__ import annotations

import argparse
import os
import sys

from rds_override_local.cloud import LocalCloud, local_cloud
from rds_override_local.cloudformation import Invocation
from rds_override_local.rds_emulator import RDSCall


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
    print(f"    RDS now    {default}")


def default_shown(cloud: LocalCloud) -> str:
    """The default for new DB instances, and whether it is an override or the system default."""
    answer = cloud.rds().describe_certificates()
    default = answer["DefaultCertificateForNewLaunches"]
    overridden = any(c.get("CustomerOverride") for c in answer["Certificates"])
    return f"DefaultCertificateForNewLaunches = {default} ({'override' if overridden else 'system default'})"


OVERRIDE_RSA4096 = "DefaultCertificateForNewLaunches = rds-ca-rsa4096-g1 (override)"
OVERRIDE_ECC384 = "DefaultCertificateForNewLaunches = rds-ca-ecc384-g1 (override)"
OVERRIDE_RSA2048 = "DefaultCertificateForNewLaunches = rds-ca-rsa2048-g1 (override)"
SYSTEM_DEFAULT = "DefaultCertificateForNewLaunches = rds-ca-rsa2048-g1 (system default)"


def run_demo(cloud: LocalCloud) -> list[str]:
    """Play the lifecycle; returns what did not go as CloudFormation would expect (empty = all good)."""
    problems: list[str] = []

    def step(number: int, title: str, invocation: Invocation, status: str, default: str) -> str:
        rds_calls = cloud.rds_calls()
        now = default_shown(cloud)
        _show(number, title, invocation, rds_calls, now)
        answer = invocation.response or {}
        if answer.get("Status") != status:
            problems.append(f"step {number}: expected {status}, got {answer.get('Status')}")
        if now != default:
            problems.append(f"step {number}: expected {default}, got {now}")
        if not answer.get("PhysicalResourceId"):
            problems.append(f"step {number}: empty PhysicalResourceId")
        return str(answer.get("PhysicalResourceId", ""))

    print(f"Region {cloud.region}: {default_shown(cloud)}\n")
    team_a, team_b, team_c = (cloud.stack(name) for name in ("team-a", "team-b", "team-c"))
    v1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1", "RestorePreviousOnDelete": False}
    created = team_a.send("Create", v1)
    a_id = step(
        1, "team-a: Create  CertificateIdentifier=rds-ca-rsa4096-g1", created, "SUCCESS", OVERRIDE_RSA4096
    )

    v2 = {**v1, "CertificateIdentifier": "rds-ca-ecc384-g1"}
    updated = team_a.send("Update", v2, physical_id=a_id, old_properties=v1)
    step(2, "team-a: Update  CertificateIdentifier=rds-ca-ecc384-g1", updated, "SUCCESS", OVERRIDE_ECC384)
    if (updated.response or {}).get("PhysicalResourceId") != a_id:
        problems.append("step 2: an in-place update changed the physical id")

    joined = team_b.send("Create", v2)
    b_id = step(
        3, "team-b: Create  the same CA (joins team-a's declaration)", joined, "SUCCESS", OVERRIDE_ECC384
    )
    if any(call.action == "ModifyCertificates" for call in cloud.rds_calls()):
        problems.append("step 3: joining a declaration that already stands wrote to RDS")

    refused = team_c.send("Create", v1)
    c_id = step(
        4,
        "team-c: Create  CertificateIdentifier=rds-ca-rsa4096-g1 (conflicts)",
        refused,
        "FAILED",
        OVERRIDE_ECC384,
    )
    if "declares for" not in str((refused.response or {}).get("Reason")):
        problems.append("step 4: the refusal does not name the declaration it conflicts with")
    c_cleanup = team_c.send("Delete", v1, physical_id=c_id)
    step(
        5, "team-c: Delete  after the refused Create (changes nothing)", c_cleanup, "SUCCESS", OVERRIDE_ECC384
    )

    a_deleted = team_a.send("Delete", v2, physical_id=a_id)
    step(
        6,
        "team-a: Delete  (team-b still declares it: the override stays)",
        a_deleted,
        "SUCCESS",
        OVERRIDE_ECC384,
    )
    b_deleted = team_b.send("Delete", v2, physical_id=b_id)
    step(7, "team-b: Delete  (the last one out removes the override)", b_deleted, "SUCCESS", SYSTEM_DEFAULT)

    print("\n    ...another team sets rds-ca-rsa2048-g1 as an override by hand...\n")
    cloud.rds().modify_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")
    typo = {"CertificateIdentifier": "rds-ca-rsa4096-g2"}
    failed = team_c.send("Create", typo)
    failed_id = step(
        8,
        "team-c: Create  CertificateIdentifier=rds-ca-rsa4096-g2 (a typo)",
        failed,
        "FAILED",
        OVERRIDE_RSA2048,
    )
    cleanup = team_c.send("Delete", typo, physical_id=failed_id)
    step(
        9,
        "team-c: Delete  after the failed Create (the other team's override stays)",
        cleanup,
        "SUCCESS",
        OVERRIDE_RSA2048,
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
