"""Time `rds-certificate-override status` over an organization on the emulator (50 accounts x 17 regions).

The emulator (moto's ThreadedMotoServer with the RDS certificates emulator) runs in this process; each account
is populated through the API as the function and a StackSet would leave it: one stack per account in its home
region, one ledger declaration per managed region, the override set. Then a few regions are changed by hand
(drift, undeclared) and one account's stack is deleted behind its declarations (stale). `status` then runs as
its own process, the way an operator runs it, `--rounds` times. It prints the median wall time and exits
non-zero when it is not under `--goal` seconds or when the states are not the ones arranged.

    python tools/bench_status.py [--accounts 50] [--regions 17] [--rounds 3]

`populate` and `run_status` are what `make simulate-org` can reuse.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
# The RDS emulator is owned by the tests until it moves into the package (issue 8 section 4).
sys.path.insert(0, str(ROOT / "tests"))

import moto_rds_certificates as emulator  # noqa: E402

HOME_REGION = "eu-west-1"
ROLE_NAME = "RdsCertificateOverrideStatus"
DECLARED = "rds-ca-rsa4096-g1"
HAND_CHANGED = "rds-ca-ecc384-g1"
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": HOME_REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "127.0.0.1",
}
# A stack needs at least one resource; this one needs nothing else of the emulator.
STACK_TEMPLATE = json.dumps({"Resources": {"Handle": {"Type": "AWS::SNS::Topic"}}})


def account_ids(count: int) -> list[str]:
    return [f"{100000000001 + index:012d}" for index in range(count)]


def managed_regions(count: int) -> list[str]:
    """The first `count` regions of the aws partition the SDK knows (sorted, so runs compare)."""
    return sorted(boto3.session.Session().get_available_regions("rds"))[:count]


@contextmanager
def moto_server() -> Iterator[str]:
    emulator.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class Arranged:
    drift: list[tuple[str, str]]
    undeclared: list[tuple[str, str]]
    stale: list[tuple[str, str]]


def _session(endpoint: str, account: str) -> boto3.session.Session:
    sts = boto3.client("sts", region_name=HOME_REGION, endpoint_url=endpoint)
    keys = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}", RoleSessionName="bench")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def declare(
    session: boto3.session.Session, endpoint: str, stack_id: str, region: str, certificate: str
) -> None:
    """What the function leaves in `region`: its ledger parameter (the ledger's layout) and the override."""
    stack_name, stack_uuid = stack_id.split(":", 5)[5].split("/")[1:]
    logical_id = "Override" + region.replace("-", "").title().replace("-", "")
    value = {
        "Version": 1,
        "StackId": stack_id,
        "LogicalResourceId": logical_id,
        "CertificateIdentifier": certificate,
        "PreviousOverride": None,
        "RestorePreviousOnDelete": False,
        "State": "applied",
        "RequestId": "bench",
        "UpdatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    session.client("ssm", region_name=region, endpoint_url=endpoint).put_parameter(
        Name=f"/rds-certificate-override/declarations/{stack_name}/{stack_uuid}/{logical_id}",
        Value=json.dumps(value),
        Type="String",
    )
    session.client("rds", region_name=region, endpoint_url=endpoint).modify_certificates(
        CertificateIdentifier=certificate
    )


def populate(endpoint: str, accounts: Sequence[str], regions: Sequence[str]) -> Arranged:
    """Every account declares DECLARED in every region; then a few regions are changed by hand."""

    def one_account(account: str) -> tuple[boto3.session.Session, str]:
        session = _session(endpoint, account)
        stack_id = session.client(
            "cloudformation", region_name=HOME_REGION, endpoint_url=endpoint
        ).create_stack(StackName="rds-certificate-override", TemplateBody=STACK_TEMPLATE)["StackId"]
        for region in regions:
            declare(session, endpoint, stack_id, region, DECLARED)
        return session, stack_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = dict(zip(accounts, pool.map(one_account, accounts), strict=True))
    # By hand: an override changed (drift), a declaration removed (undeclared), a stack deleted (stale).
    drift = [(accounts[0], regions[0]), (accounts[-1], regions[-1])]
    for account, region in drift:
        session, _ = sessions[account]
        session.client("rds", region_name=region, endpoint_url=endpoint).modify_certificates(
            CertificateIdentifier=HAND_CHANGED
        )
    undeclared = [(accounts[1 % len(accounts)], regions[1 % len(regions)])]
    for account, region in undeclared:
        session, _ = sessions[account]
        ssm = session.client("ssm", region_name=region, endpoint_url=endpoint)
        names = [
            parameter["Name"]
            for parameter in ssm.get_parameters_by_path(
                Path="/rds-certificate-override/declarations", Recursive=True
            )["Parameters"]
        ]
        ssm.delete_parameters(Names=names)
    stale_account = accounts[2 % len(accounts)]
    session, stack_id = sessions[stale_account]
    session.client("cloudformation", region_name=HOME_REGION, endpoint_url=endpoint).delete_stack(
        StackName=stack_id
    )
    # Its stack gone, no declaration of that account is live: its hand-changed regions count as stale too.
    stale = [(stale_account, region) for region in regions if (stale_account, region) not in undeclared]
    drift = [(account, region) for account, region in drift if account != stale_account]
    return Arranged(drift=drift, undeclared=undeclared, stale=stale)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_status(
    endpoint: str, accounts: Sequence[str], regions: Sequence[str]
) -> tuple[float, dict[str, object]]:
    """`status --json` over the organization, as its own process: (wall seconds, the JSON report)."""
    command = [
        str(Path(sys.executable).parent / "rds-certificate-override"),
        "status",
        "--endpoint-url",
        endpoint,
        "--accounts",
        ",".join(accounts),
        "--role-name",
        ROLE_NAME,
        "--regions",
        ",".join(regions),
        "--json",
    ]
    started, cpu_before = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, env=DUMMY_ENV, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    print(f"  status process CPU {_children_cpu() - cpu_before:.1f} s", flush=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"status failed ({done.returncode}): {done.stderr[-2000:]}")
    report: dict[str, object] = json.loads(done.stdout)
    return wall, report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--goal", type=float, default=30.0, help="seconds the median must stay under (30)")
    options = parser.parse_args()
    os.environ.update(DUMMY_ENV)
    accounts, regions = account_ids(options.accounts), managed_regions(options.regions)
    with moto_server() as endpoint:
        started = time.perf_counter()
        arranged = populate(endpoint, accounts, regions)
        print(
            f"populated {len(accounts)} accounts x {len(regions)} regions "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        walls = []
        for _ in range(options.rounds):
            wall, report = run_status(endpoint, accounts, regions)
            walls.append(wall)
            rows: list[dict[str, str]] = report["rows"]  # type: ignore[assignment]
            states = Counter(row["state"] for row in rows)
            print(f"status: {wall:.1f} s, {dict(states)}", flush=True)
    expected = {
        "drift": len(arranged.drift),
        "undeclared": len(arranged.undeclared),
        "stale": len(arranged.stale),
        "in-sync": len(accounts) * len(regions) - len(arranged.drift + arranged.undeclared + arranged.stale),
    }
    as_arranged = dict(states) == expected
    median = statistics.median(walls)
    print(
        f"status over {len(accounts)} accounts x {len(regions)} regions: "
        f"median {median:.1f} s of {options.rounds} ({', '.join(f'{w:.1f}' for w in walls)}), "
        f"goal under {options.goal:.0f} s: {'met' if median < options.goal else 'MISSED'}; "
        f"states {'as arranged' if as_arranged else f'{dict(states)}, expected {expected}'}"
    )
    return 0 if as_arranged and median < options.goal else 1


if __name__ == "__main__":
    sys.exit(main())
