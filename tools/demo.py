"""`make demo`: a CloudFormation stack lifecycle of template.yaml, played on this machine.

The RDS certificate emulator runs on moto's server (127.0.0.1), a local HTTPS server stands in for the
presigned S3 ResponseURL, and every event runs the built artifact in a fresh Python process, as a Lambda
cold start would. `LocalStack` is also what the end-to-end tests and the benchmark drive.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the RDS emulator is owned by the tests

import moto_rds_certificates as emulator  # noqa: E402
from cfn_driver import Invocation, ResponseServer, invoke, make_event  # noqa: E402

DEFAULT_REGION = "eu-west-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class LocalStack:
    """One custom resource of one stack, driven through its lifecycle against the emulator."""

    server: ResponseServer
    rds_endpoint: str
    code_dirs: list[str]
    python: str | None = None
    region: str = DEFAULT_REGION
    logical_id: str = "Override"
    log_level: str = "INFO"
    timeout_s: float = 120  # template.yaml's Timeout
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def environment(self) -> dict[str, str]:
        return {
            **DUMMY_CREDENTIALS,
            "AWS_REGION": self.region,
            # Every service (RDS, and SSM and CloudFormation for the ledger) on the emulator: nothing real.
            "AWS_ENDPOINT_URL": self.rds_endpoint,
            "POWERTOOLS_SERVICE_NAME": "rds-certificate-override",
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }

    def send(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Invocation:
        emulator.reset_calls()
        request_id = str(uuid.uuid4())
        event = make_event(
            request_type,
            {"ServiceTimeout": 300, **properties},
            physical_id=physical_id,
            old_properties={"ServiceTimeout": 300, **old_properties} if old_properties is not None else None,
            response_url=self.server.response_url(request_id),
            request_id=request_id,
            logical_id=self.logical_id,
        )
        return invoke(
            event,
            server=self.server,
            code_dirs=self.code_dirs,
            env={**self.environment(), **(env or {})},
            python=self.python,
            timeout_s=self.timeout_s,
        )

    def rds_calls(self) -> list[str]:
        """The RDS actions the last `send` made (every HTTP attempt, so retries count)."""
        return [call.action for call in emulator.calls()]

    def rds(self, region: str | None = None) -> Any:
        """A client of the emulator, as "another team" would use RDS (one per region, made once)."""
        region = region or self.region
        if region not in self._clients:
            self._clients[region] = boto3.client(
                "rds",
                region_name=region,
                endpoint_url=self.rds_endpoint,
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[region]

    def default_for_new_launches(self, region: str | None = None) -> str:
        return str(self.rds(region).describe_certificates()["DefaultCertificateForNewLaunches"])


@contextmanager
def local_stack(code_dirs: list[str], *, python: str | None = None, **options: Any) -> Iterator[LocalStack]:
    """The emulator on moto's server and the ResponseURL server, both on loopback, for one test or demo."""
    emulator.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    with ExitStack() as stack:
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        stack.callback(moto.stop)
        host, port = moto.get_host_and_port()
        server = stack.enter_context(ResponseServer(region=options.get("region", DEFAULT_REGION)))
        yield LocalStack(server, f"http://{host}:{port}", code_dirs, python, **options)


# --- the demo itself -------------------------------------------------------------------------------------


def _show(step: int, title: str, invocation: Invocation, rds_calls: list[str], default: str) -> None:
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
    print(f"    RDS calls  {', '.join(rds_calls) or '(none)'}")
    print(f"    RDS now    DefaultCertificateForNewLaunches = {default}")


def run_demo(stack: LocalStack) -> list[str]:
    """Play the lifecycle; returns what did not go as CloudFormation would expect (empty = all good)."""
    problems: list[str] = []

    def step(number: int, title: str, invocation: Invocation, status: str, default: str) -> str:
        rds_calls = stack.rds_calls()
        now = stack.default_for_new_launches()
        _show(number, title, invocation, rds_calls, now)
        answer = invocation.response or {}
        if answer.get("Status") != status:
            problems.append(f"step {number}: expected {status}, got {answer.get('Status')}")
        if now != default:
            problems.append(f"step {number}: expected the default {default}, got {now}")
        if not answer.get("PhysicalResourceId"):
            problems.append(f"step {number}: empty PhysicalResourceId")
        return str(answer.get("PhysicalResourceId", ""))

    print(f"Region {stack.region}: DefaultCertificateForNewLaunches = {stack.default_for_new_launches()}\n")
    v1 = {"CertificateIdentifier": "rds-ca-rsa4096-g1", "RestorePreviousOnDelete": False}
    created = stack.send("Create", v1)
    physical_id = step(
        1, "Create  CertificateIdentifier=rds-ca-rsa4096-g1", created, "SUCCESS", "rds-ca-rsa4096-g1"
    )

    v2 = {**v1, "CertificateIdentifier": "rds-ca-ecc384-g1"}
    updated = stack.send("Update", v2, physical_id=physical_id, old_properties=v1)
    step(2, "Update  CertificateIdentifier=rds-ca-ecc384-g1", updated, "SUCCESS", "rds-ca-ecc384-g1")
    if (updated.response or {}).get("PhysicalResourceId") != physical_id:
        problems.append("step 2: an in-place update changed the physical id")

    deleted = stack.send("Delete", v2, physical_id=physical_id)
    step(3, "Delete  (removes the override this stack set)", deleted, "SUCCESS", "rds-ca-rsa2048-g1")

    print("\n    ...another team sets rds-ca-rsa2048-g1 as an override by hand...\n")
    stack.rds().modify_certificates(CertificateIdentifier="rds-ca-rsa2048-g1")
    typo = {"CertificateIdentifier": "rds-ca-rsa4096-g2"}
    failed = stack.send("Create", typo)
    failed_id = step(
        4, "Create  CertificateIdentifier=rds-ca-rsa4096-g2 (a typo)", failed, "FAILED", "rds-ca-rsa2048-g1"
    )
    cleanup = stack.send("Delete", typo, physical_id=failed_id)
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
    with local_stack([args.artifact, args.runtime_sdk], python=args.python) as stack:
        problems = run_demo(stack)
    print()
    if problems:
        print("DEMO FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("Demo OK: every answer and every override was what CloudFormation and the other team expect.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
