"""`make bench`: how fast and how small, as a Markdown table anyone can reproduce.

Medians of repeated runs; every comparison is a ratio of two medians measured side by side in this run,
alternating A and B, so that a noisy machine slows both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rds_override_local import settings
from rds_override_local.api_calls import ApiCall, ApiCallRecorder, api_call_recorder
from rds_override_local.cloud import LocalCloud, local_cloud

ROOT = settings.REPOSITORY
TIMER = "import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
HANDLER_IMPORT = "import index"
SDK_FLOOR = 'import boto3; boto3.client("rds")'
# The clients a first Create makes (SSM for the ledger and the region lock, then RDS); CloudFormation's
# only when another declaration must be checked.
HANDLER_WITH_CLIENTS = "import index, aws_sdk; " + "; ".join(
    f'aws_sdk.client("{service}", "{settings.REGION}")' for service in ("ssm", "rds")
)


@dataclass
class Row:
    measure: str
    figure: str
    goal: str = ""
    met: bool | None = None

    def markdown(self) -> str:
        verdict = "" if self.met is None else ("met" if self.met else "**missed**")
        return f"| {self.measure} | {self.figure} | {self.goal} | {verdict} |"


def alternate(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Medians of `a` and `b`, run alternately (A B A B ...)."""
    a_runs, b_runs = [], []
    for _ in range(rounds):
        a_runs.append(a())
        b_runs.append(b())
    return statistics.median(a_runs), statistics.median(b_runs)


def cold_import_ms(python: str, code_dirs: list[str], statement: str) -> float:
    """One fresh interpreter: milliseconds to run `statement`, no bytecode written (Lambda's task root is
    read-only), no site-packages, only the artifact and the runtime's SDK on the path."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join(code_dirs),
        "PYTHONDONTWRITEBYTECODE": "1",
        **settings.DUMMY_CREDENTIALS,
        "AWS_REGION": settings.REGION,
        "AWS_DEFAULT_REGION": settings.REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and statement
        [python, "-B", "-S", "-c", TIMER.format(statement=statement)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_start(python: str, code_dirs: list[str], rounds: int) -> list[Row]:
    handler, floor = alternate(
        lambda: cold_import_ms(python, code_dirs, HANDLER_IMPORT),
        lambda: cold_import_ms(python, code_dirs, SDK_FLOOR),
        rounds,
    )
    # The handler creates its clients at the first event, not at import: this is what that event adds.
    with_clients, floor_again = alternate(
        lambda: cold_import_ms(python, code_dirs, HANDLER_WITH_CLIENTS),
        lambda: cold_import_ms(python, code_dirs, SDK_FLOOR),
        rounds,
    )
    ratio = handler / floor
    first_event = with_clients / floor_again
    return [
        Row(f"Cold import of the handler (`{HANDLER_IMPORT}`)", f"{handler:.0f} ms"),
        Row(f"Floor: `{SDK_FLOOR}`", f"{floor:.0f} ms"),
        Row("Cold start ratio, handler / floor", f"{ratio:.3f}", "≤ 1.0", ratio <= 1.0),
        Row(
            "Handler import + the SSM and RDS clients of a first event / floor",
            f"{with_clients:.0f} ms / {floor_again:.0f} ms = {first_event:.3f}",
            "≤ 1.3",
            first_event <= 1.3,
        ),
    ]


def per_event(stack: LocalCloud, recorder: ApiCallRecorder, rounds: int) -> list[Row]:
    """Create, Update, Delete of one resource, `rounds` times: wall time of the fresh process (start-up,
    import and handler), the handler's own duration, the RDS API calls each made (every attempt), and
    every AWS API call (RDS, SSM, CloudFormation: botocore's client-side monitoring)."""
    walls: dict[str, list[float]] = {"Create": [], "Update": [], "Delete": []}
    durations: dict[str, list[float]] = {"Create": [], "Update": [], "Delete": []}
    calls: dict[str, Counter[str]] = {}
    aws_calls: dict[str, list[ApiCall]] = {}
    v1, v2 = settings.V1, settings.V2
    for _ in range(rounds):
        steps = [("Create", v1, None, None), ("Update", v2, "id", v1), ("Delete", v2, "id", None)]
        physical_id = None
        for request_type, properties, needs_id, old in steps:
            recorder.take()
            invocation = stack.demo_stack.send(
                request_type,
                properties,
                physical_id=physical_id if needs_id else None,
                old_properties=old,
                env=recorder.env,
            )
            # The first round's: a region with no lock generations kept from earlier events. Later rounds
            # read a page more for every 10 generations of the last 16 minutes (a row of its own below).
            made = recorder.take()
            aws_calls.setdefault(request_type, made)
            busy_reads = sum(call.api == "GetParametersByPath" for call in made)
            answer = invocation.response or {}
            if answer.get("Status") != "SUCCESS":
                raise SystemExit(f"{request_type} did not succeed: {answer}\n{invocation.logs[-2000:]}")
            physical_id = answer["PhysicalResourceId"]
            walls[request_type].append(invocation.wall_s * 1000)
            durations[request_type].append(invocation.duration_ms or 0.0)
            calls[request_type] = Counter(call.action for call in stack.rds_calls())
    rows = [
        Row(
            f"The same events {rounds} rounds later, same region: the lock's and the declarations' reads",
            f"{busy_reads} GetParametersByPath (a page per 10 lock generations kept 16 minutes)",
        )
    ]
    for request_type, wall in walls.items():
        count = sum(calls[request_type].values())
        detail = ", ".join(f"{action} x{n}" for action, n in calls[request_type].items())
        rows.append(
            Row(
                f"{request_type}: wall (fresh process) / handler duration / RDS calls",
                f"{statistics.median(wall):.0f} ms / "
                f"{statistics.median(durations[request_type]):.1f} ms / {count} ({detail})",
                "≤ 2 RDS calls",
                count <= 2,
            )
        )
    # Each of these writes to RDS: a writing Create or Update makes 8 calls in a quiet region (the lock's read
    # and take, the declarations' read once it is held, the intent, the write, its confirmation, the
    # release), a Delete 7 (tests/handler/test_api_calls.py holds those exactly); the bound is 9. The fences
    # before each write make no call.
    most_calls = {"Create": 9, "Update": 9, "Delete": 9}
    for request_type, made in aws_calls.items():
        detail = ", ".join(f"{call.service} {call.api}" for call in made)
        rows.append(
            Row(
                f"{request_type}: every AWS call (RDS, SSM, CloudFormation)",
                f"{len(made)} ({detail})",
                f"≤ {most_calls[request_type]}",
                len(made) <= most_calls[request_type],
            )
        )
    # "As fast as Create": the same two RDS calls and no wait (crhelper's default sleeps 120 s per Delete).
    create, delete = (statistics.median(durations[k]) for k in ("Create", "Delete"))
    rows.append(
        Row(
            "Delete / Create handler duration",
            f"{delete / create:.2f} ({delete - create:+.0f} ms)",
            "no artificial wait (< +1 s)",
            delete - create < 1000,
        )
    )
    return rows


def artifact(function_dir: Path, zip_path: Path) -> list[Row]:
    unzipped = sum(path.stat().st_size for path in function_dir.rglob("*") if path.is_file())
    zipped = zip_path.stat().st_size
    with zipfile.ZipFile(zip_path) as archive:
        files = len(archive.namelist())
    return [
        Row("Artifact, unzipped", f"{unzipped / 1e6:.2f} MB ({files} files)"),
        Row("Artifact, zipped", f"{zipped / 1e6:.2f} MB", "≤ 1.1 MB", zipped <= 1.1e6),
    ]


def synth_seconds(command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir}
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
        return time.perf_counter() - started


def synth(rounds: int) -> list[Row]:
    ours, alternative = alternate(
        lambda: synth_seconds([sys.executable, "cdk/app.py"]),
        lambda: synth_seconds([sys.executable, "tools/bench_aws_custom_resource_app.py"]),
        rounds,
    )
    ratio = ours / alternative
    return [
        Row("Synth of the example CDK app (`python cdk/app.py`)", f"{ours:.2f} s"),
        Row("Synth of the same stack with `AwsCustomResource`", f"{alternative:.2f} s"),
        Row("Synth ratio, construct / AwsCustomResource", f"{ratio:.3f}", "≤ 1.1", ratio <= 1.1),
    ]


def machine(python: str) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    runtime = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    return f"{os.cpu_count()} x {cpu}, {platform.system()} {platform.machine()}; function Python: {runtime}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", default=".aws-sam/build/RdsCertificateOverrideFunction")
    parser.add_argument("--zip", default="dist/rds-certificate-override-function.zip")
    parser.add_argument("--runtime-sdk", default="build/lambda-runtime-sdk")
    parser.add_argument("--python", default=os.environ.get("RUNTIME_PYTHON") or sys.executable)
    parser.add_argument("--rounds", type=int, default=21, help="cold-start rounds (A and B each)")
    parser.add_argument("--event-rounds", type=int, default=7)
    parser.add_argument("--synth-rounds", type=int, default=9)
    args = parser.parse_args()
    code_dirs = [str(ROOT / args.artifact), str(ROOT / args.runtime_sdk)]

    rows = cold_start(args.python, code_dirs, args.rounds)
    with local_cloud(code_dirs, python=args.python) as stack, api_call_recorder() as recorder:
        rows += per_event(stack, recorder, args.event_rounds)
    rows += artifact(ROOT / args.artifact, ROOT / args.zip)
    rows += synth(args.synth_rounds)

    print(f"Machine: {machine(args.python)}")
    print(
        f"Rounds: cold start {args.rounds} x 2 alternating, events {args.event_rounds}, "
        f"synth {args.synth_rounds} x 2 alternating"
    )
    print()
    print("| Measure | Median | Goal | |")
    print("|---|---|---|---|")
    for row in rows:
        print(row.markdown())
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
