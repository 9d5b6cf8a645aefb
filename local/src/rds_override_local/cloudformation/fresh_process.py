"""One invocation of the function in a fresh Python process, as a Lambda cold start.

``invoke`` runs ``lambda_runner.py`` by path in a new interpreter that sees only the function's code and the
standard library, and collects what the response server received for the request.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import lambda_runner, settings
from .response_server import MAX_RESPONSE_BYTES, RecordedResponse, ResponseServer

INIT_ALLOWANCE_S = 10.0
"""Time allowed on top of the function timeout for the process to start and import (Lambda's init limit)."""

RUNNER = Path(lambda_runner.__file__).resolve()


@dataclass(frozen=True)
class Invocation:
    """What one invocation produced, as CloudFormation and CloudWatch Logs would see it."""

    request_id: str
    response: dict[str, Any] | None
    """The body of the first answer the server accepted for the request, or None."""
    responses: list[RecordedResponse]
    """Every accepted answer (more than one is a double answer)."""
    returncode: int
    """``lambda_runner.EXIT_*``: 0 handler returned, 1 raised, 2 import failed, 3 timed out; -9 killed.
    An in-process invocation has no process of its own: 0, no output, no REPORT figures."""
    stdout: str
    stderr: str
    wall_s: float
    """Seconds from process start to exit, interpreter start-up included."""
    timed_out: bool
    init_ms: float | None
    """Time to import the handler module, from the runner's REPORT line (None if it never got there)."""
    duration_ms: float | None
    """Time spent in the handler, from the REPORT line."""
    max_memory_mb: int | None

    @property
    def status(self) -> str | None:
        """``SUCCESS``/``FAILED`` from the response, or None when there was none."""
        return None if self.response is None else self.response.get("Status")

    @property
    def logs(self) -> str:
        """stdout and stderr together, for checks such as "the presigned URL never reaches a log"."""
        return self.stdout + self.stderr

    @property
    def answer(self) -> dict[str, Any]:
        """The one answer, checked as CloudFormation takes it: exactly one, a JSON object of at most
        ``MAX_RESPONSE_BYTES``, for this request, with a physical id. Raises ``UnacceptableAnswer``."""
        problem = None
        if len(self.responses) != 1:
            problem = f"CloudFormation must get exactly one answer, got {len(self.responses)}"
        elif (body := self.responses[0].body) is None:
            problem = "the answer is not a JSON object"
        elif self.responses[0].too_long:
            problem = f"the answer has {self.responses[0].size} bytes, over {MAX_RESPONSE_BYTES}"
        elif body.get("RequestId") != self.request_id:
            problem = f"the answer is for request {body.get('RequestId')!r}, not {self.request_id!r}"
        elif not body.get("PhysicalResourceId"):
            problem = "CloudFormation rejects an empty PhysicalResourceId"
        if problem is not None:
            raise UnacceptableAnswer(f"{problem}; logs:\n{self.logs[-2000:]}")
        return dict(self.responses[0].body or {})


class UnacceptableAnswer(AssertionError):
    """The function did not answer as CloudFormation requires (an AssertionError: tests report it as one)."""


@functools.cache
def default_python() -> str:
    """The Lambda runtime's Python (``python<template.yaml's version>``) when it is on PATH and runs, else
    ``sys.executable``.

    The interpreter's real path is returned, so a version-manager shim is resolved once, not at every cold
    start (a pyenv shim for a version that is installed but not selected fails; it then falls back).
    """
    found = shutil.which(f"python{settings.runtime_version()}")
    if found:
        try:
            probe = subprocess.run(  # noqa: S603 - a fixed argv, no shell
                [found, "-c", "import sys; print(sys.executable)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            return probe.stdout.strip() or found
    return sys.executable


def function_environment(
    env: Mapping[str, str],
    *,
    code_dirs: Sequence[str | os.PathLike[str]],
    handler: str,
    ca_file: str,
    function_name: str = settings.FUNCTION_NAME,
    memory_mb: int = settings.MEMORY_MB,
    python: str | None = None,
) -> dict[str, str]:
    """The environment of the function's process.

    In order, later entries winning: the parent's environment without any ``AWS_*`` or ``PYTHON*`` variable
    (no real credentials, profile or region leak in); guards so boto3 finds no credentials of its own
    (``AWS_SHARED_CREDENTIALS_FILE`` and ``AWS_CONFIG_FILE`` set to the null device, instance metadata
    disabled); the variables the Lambda runtime sets (``AWS_LAMBDA_FUNCTION_NAME``, ``..._MEMORY_SIZE``,
    ``..._VERSION``, ``AWS_LAMBDA_LOG_GROUP_NAME``, ``AWS_LAMBDA_LOG_STREAM_NAME``,
    ``AWS_LAMBDA_INITIALIZATION_TYPE``, ``AWS_EXECUTION_ENV``, ``LAMBDA_TASK_ROOT``, ``_HANDLER``, and
    ``AWS_DEFAULT_REGION`` = ``AWS_REGION``); ``SSL_CERT_FILE`` = ``ca_file``; then the caller's ``env``;
    then ``PYTHONPATH`` = ``code_dirs`` and ``PYTHONDONTWRITEBYTECODE=1``, ``PYTHONUNBUFFERED=1``,
    ``PYTHONIOENCODING=utf-8``.
    """
    if "PYTHONPATH" in env:
        raise ValueError("pass the function's code as code_dirs=, not PYTHONPATH")
    child = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    child.update(
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME=function_name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory_mb),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function_name}",
        AWS_LAMBDA_LOG_STREAM_NAME=time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex,
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
        AWS_EXECUTION_ENV=f"AWS_Lambda_python{_python_version(python or default_python())}",
        LAMBDA_TASK_ROOT=str(Path(code_dirs[0]).resolve()) if code_dirs else "",
        _HANDLER=handler,
        SSL_CERT_FILE=ca_file,
    )
    if "AWS_REGION" in env:
        child["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
    child.update(env)
    child.update(
        PYTHONPATH=os.pathsep.join(str(Path(d).resolve()) for d in code_dirs),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return child


@functools.cache
def _python_version(python: str) -> str:
    probe = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip()


_REPORT = re.compile(
    r"^REPORT RequestId: \S+\tDuration: (?P<duration>[\d.]+) ms\t.*"
    r"Max Memory Used: (?P<memory>\d+) MB\tInit Duration: (?P<init>[\d.]+) ms",
    re.MULTILINE,
)


def invoke(
    event: Mapping[str, Any],
    *,
    server: ResponseServer,
    code_dirs: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    handler: str = settings.HANDLER,
    python: str | None = None,
    timeout_s: float = settings.TIMEOUT_S,
    function_name: str = settings.FUNCTION_NAME,
    memory_mb: int = settings.MEMORY_MB,
) -> Invocation:
    """Invoke ``handler`` once with ``event`` in a fresh Python process, as a Lambda cold start.

    Runs ``python -B -S -P lambda_runner.py`` with the event JSON on stdin and the environment from
    ``function_environment`` (so ``PYTHONPATH`` = ``code_dirs`` in order: the function artifact first, then a
    directory holding boto3 in place of the runtime's SDK). ``-S`` keeps the interpreter's own site-packages
    (the dev venv's, say) out of reach and ``-P`` keeps the runner's own directory off the path: the function
    sees only the standard library and ``code_dirs``, as in Lambda. ``python`` defaults to
    ``default_python()``.

    The runner stops the handler at ``timeout_s`` as Lambda would; this driver kills the whole process group
    if it is still running ``INIT_ALLOWANCE_S`` later. The answers the server received for the event's
    ``RequestId`` during this invocation are then collected.
    """
    (invocation,) = _run(
        [event],
        warm=False,
        server=server,
        code_dirs=code_dirs,
        env=env,
        handler=handler,
        python=python,
        timeout_s=timeout_s,
        function_name=function_name,
        memory_mb=memory_mb,
    )
    return invocation


def invoke_warm(
    events: Sequence[Mapping[str, Any]],
    *,
    server: ResponseServer,
    code_dirs: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    python: str | None = None,
    timeout_s: float = settings.TIMEOUT_S,
) -> list[Invocation]:
    """Invoke the handler with each of ``events`` in turn in one fresh process, as one warm sandbox serves
    the requests that reach it (``lambda_runner --warm``): one cold start, then warm invocations. Each
    ``Invocation`` holds its own answers; ``wall_s`` is the whole process's."""
    return _run(
        events,
        warm=True,
        server=server,
        code_dirs=code_dirs,
        env=env,
        handler=settings.HANDLER,
        python=python,
        timeout_s=timeout_s,
        function_name=settings.FUNCTION_NAME,
        memory_mb=settings.MEMORY_MB,
    )


def _run(
    events: Sequence[Mapping[str, Any]],
    *,
    warm: bool,
    server: ResponseServer,
    code_dirs: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    handler: str,
    python: str | None,
    timeout_s: float,
    function_name: str,
    memory_mb: int,
) -> list[Invocation]:
    request_ids = [str(event["RequestId"]) for event in events]
    command = [
        python or default_python(),
        "-B",
        "-S",
        "-P",
        str(RUNNER),
        "--handler",
        handler,
        "--timeout",
        str(timeout_s),
        "--function-name",
        function_name,
        "--memory-mb",
        str(memory_mb),
        "--account-id",
        settings.ACCOUNT_ID,
        *(["--warm"] if warm else []),
    ]
    child_env = function_environment(
        env,
        code_dirs=code_dirs,
        handler=handler,
        ca_file=server.ca_file,
        function_name=function_name,
        memory_mb=memory_mb,
        python=command[0],
    )
    answered_before = {request_id: len(server.responses(request_id)) for request_id in request_ids}
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
        cwd=str(Path(code_dirs[0])) if code_dirs else None,
        start_new_session=True,
    )
    payload = json.dumps(list(events) if warm else events[0]).encode()
    killed = False
    try:
        stdout, stderr = process.communicate(payload, timeout=len(events) * timeout_s + INIT_ALLOWANCE_S)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    wall_s = time.monotonic() - started

    out = stdout.decode("utf-8", errors="replace")
    report = _REPORT.search(out)
    invocations = []
    for request_id in request_ids:
        responses = server.responses(request_id)[answered_before[request_id] :]
        invocations.append(
            Invocation(
                request_id=request_id,
                response=responses[0].body if responses else None,
                responses=responses,
                returncode=process.returncode,
                stdout=out,
                stderr=stderr.decode("utf-8", errors="replace"),
                wall_s=wall_s,
                timed_out=killed or process.returncode == lambda_runner.EXIT_TIMED_OUT,
                init_ms=float(report["init"]) if report else None,
                duration_ms=float(report["duration"]) if report and not warm else None,
                max_memory_mb=int(report["memory"]) if report else None,
            )
        )
    return invocations
