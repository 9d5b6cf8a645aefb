"""A local stand-in for CloudFormation that drives a Lambda-backed custom resource handler.

Three pieces, used by ``make demo``, the end-to-end tests and the benchmark:

- ``ResponseServer``: the presigned S3 URL CloudFormation gives the function to answer on. An HTTPS server on
  127.0.0.1 with a throwaway CA (``ca_file``, handed to the function as ``SSL_CERT_FILE``) that records each
  answer, answers like S3 (200 to a good PUT, 403 to a bad signature or a non-empty Content-Type) and can be
  told to fail the next attempts (``fail_next``).
- ``make_event``: a custom resource request as CloudFormation sends it, every property value a string.
- ``invoke``: runs the handler once in a fresh Python process (a Lambda cold start) through
  ``lambda_runner.py`` and collects what the server received for the request.

Typical use::

    with ResponseServer() as server:
        request_id = str(uuid.uuid4())
        event = make_event("Create", {"CertificateIdentifier": "rds-ca-rsa4096-g1"},
                           response_url=server.response_url(request_id), request_id=request_id)
        result = invoke(event, server=server, code_dirs=[artifact, sdk_dir], env=function_env)
        assert result.response is not None and result.response["Status"] == "SUCCESS"
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

import trustme

import lambda_runner

FaultMode = Literal["http500", "reset"]

MAX_RESPONSE_BYTES = 4096
"""CloudFormation rejects a response body larger than this ("Response object is too long")."""

DEFAULT_REGION = "us-east-1"
DEFAULT_FUNCTION_NAME = "rds-certificate-override"
DEFAULT_MEMORY_MB = 128
DEFAULT_STACK_ID = (
    f"arn:aws:cloudformation:{DEFAULT_REGION}:{lambda_runner.ACCOUNT_ID}:stack/"
    "rds-certificate-override-demo/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
)
DEFAULT_SERVICE_TOKEN = (
    f"arn:aws:lambda:{DEFAULT_REGION}:{lambda_runner.ACCOUNT_ID}:function:{DEFAULT_FUNCTION_NAME}"
)
INIT_ALLOWANCE_S = 10.0
"""Time allowed on top of the function timeout for the process to start and import (Lambda's init limit)."""

RUNNER = Path(__file__).resolve().with_name("lambda_runner.py")
_PRESIGNED_URL_TTL_S = 7200  # CloudFormation's presigned response URLs are valid for two hours


# ----------------------------------------------------------------------------------------------------
# The response endpoint


@dataclass(frozen=True)
class RecordedResponse:
    """One answer the server accepted (HTTP 200) for a request id."""

    request_id: str
    body: dict[str, Any] | None
    """The JSON-decoded body; None when the body is not a JSON object (CloudFormation would reject it)."""
    raw: bytes
    headers: dict[str, str]

    @property
    def size(self) -> int:
        """Length of the body in bytes."""
        return len(self.raw)

    @property
    def too_long(self) -> bool:
        """True when CloudFormation would reject the body for its size."""
        return self.size > MAX_RESPONSE_BYTES


@dataclass(frozen=True)
class Attempt:
    """One PUT the server received, whatever became of it."""

    request_id: str | None
    outcome: str
    """"recorded", an injected fault ("http500", "reset"), or the S3 error code it answered with."""
    status: int | None
    """The HTTP status answered; None when the connection was reset."""


class _Handler(BaseHTTPRequestHandler):
    server: _TLSServer
    protocol_version = "HTTP/1.1"
    server_version = "AmazonS3"
    sys_version = ""
    timeout = 10

    def do_PUT(self) -> None:
        self.server.owner._handle_put(self)

    def _refuse(self) -> None:
        # A presigned URL signs one method: S3 answers anything else with a signature mismatch.
        self.send_s3_error(
            403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
        )

    do_GET = do_POST = do_DELETE = do_HEAD = _refuse

    def send_s3_error(self, status: int, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def reset(self) -> None:
        """Drop the connection without an answer (TCP RST), as a network failure would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the presigned URL's signature."""


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: ResponseServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.ssl_context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host name (a reverse DNS query): not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, not in the accept loop.
        request.settimeout(_Handler.timeout)
        tls = self.ssl_context.wrap_socket(request, server_side=True)
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.owner._note_error(sys.exc_info()[1])


class ResponseServer:
    """The presigned S3 URL that CloudFormation hands a custom resource to answer on, served locally.

    An HTTPS server on 127.0.0.1 (a free port) in a background thread. Its certificate comes from a throwaway
    CA made by ``trustme`` whose PEM is in ``ca_file``: give the function ``SSL_CERT_FILE=<ca_file>`` to trust
    it (``invoke`` does). Use it as a context manager.

    Like S3 behind a CloudFormation presigned URL, a PUT is accepted (200) only on a URL this server issued,
    before it expires, with an empty or absent Content-Type (the URL is SigV2-signed with an empty
    Content-Type, so S3 answers anything else with 403 SignatureDoesNotMatch). Every PUT is logged as an
    ``Attempt``; accepted ones are recorded as ``RecordedResponse``.
    """

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self.bucket = "cloudformation-custom-resource-response-" + region.replace("-", "")
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[str, int]] = {}  # request id -> (signature, expires)
        self._access_key_id = "AKIA" + "".join(
            secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16)
        )
        self._responses: dict[str, list[RecordedResponse]] = {}
        self._attempts: list[Attempt] = []
        self._faults: deque[FaultMode] = deque()
        self.errors: list[str] = []
        """Connections that broke (a TLS handshake the client refused, a client gone mid-request, ...)."""
        self._tmpdir = Path(tempfile.mkdtemp(prefix="cfn-driver-"))
        ca = trustme.CA()
        self.ca_file = str(self._tmpdir / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._httpd = _TLSServer(self, context)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="cfn-response-server", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> ResponseServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server and delete the CA file."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def response_url(self, request_id: str) -> str:
        """A URL shaped like CloudFormation's presigned S3 URL for answering ``request_id``.

        ``https://127.0.0.1:<port>/cloudformation-custom-resource-response-<region>/<request_id>
        ?AWSAccessKeyId=AKIA...&Expires=<epoch>&Signature=<secret>``. The signature is random and
        secret-looking (``signature(request_id)``), so a test can check it never reaches a log. Issuing a URL
        twice for one request id gives the same URL.
        """
        with self._lock:
            signature, expires = self._issued.setdefault(
                request_id, (_random_token(28), int(time.time()) + _PRESIGNED_URL_TTL_S)
            )
        return (
            f"https://127.0.0.1:{self.port}/{self.bucket}/{quote(request_id, safe='')}"
            f"?AWSAccessKeyId={self._access_key_id}&Expires={expires}&Signature={signature}"
        )

    def signature(self, request_id: str) -> str | None:
        """The secret part of the URL issued for ``request_id`` (None if none was issued)."""
        with self._lock:
            issued = self._issued.get(request_id)
        return issued[0] if issued else None

    def response_for(self, request_id: str) -> dict[str, Any] | None:
        """The body of the first accepted answer for ``request_id``, or None if none came."""
        recorded = self.responses(request_id)
        return recorded[0].body if recorded else None

    def responses(self, request_id: str) -> list[RecordedResponse]:
        """Every accepted answer for ``request_id``, in arrival order (more than one is a double answer)."""
        with self._lock:
            return list(self._responses.get(request_id, []))

    def attempts(self, request_id: str | None = None) -> list[Attempt]:
        """Every PUT received (for ``request_id``, or all), accepted or not, in arrival order."""
        with self._lock:
            return [a for a in self._attempts if request_id is None or a.request_id == request_id]

    def failed_attempts(self, request_id: str | None = None) -> int:
        """How many PUTs (for ``request_id``, or all) were failed on purpose by ``fail_next``."""
        return sum(a.outcome in ("http500", "reset") for a in self.attempts(request_id))

    def fail_next(self, n: int, mode: FaultMode = "http500") -> None:
        """Fail the next ``n`` PUTs to a valid URL, whatever their request id.

        ``"http500"`` answers 500 InternalError; ``"reset"`` reads the request then drops the connection
        without answering. Failed attempts are counted (``failed_attempts``) and not recorded as answers.
        """
        if mode not in ("http500", "reset"):
            raise ValueError(f"unknown fault mode {mode!r}")
        with self._lock:
            self._faults.extend([mode] * n)

    # -- internals ------------------------------------------------------------------------------------------

    def _note_error(self, exc: BaseException | None) -> None:
        with self._lock:
            self.errors.append(repr(exc))

    def _handle_put(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        request_id = unquote(key) if bucket == self.bucket and key else None
        signature = parse_qs(url.query).get("Signature", [""])[-1]
        length = handler.headers.get("Content-Length", "")
        raw = handler.rfile.read(int(length)) if length.isdigit() else b""

        with self._lock:
            rejection = self._check(request_id, signature, handler.headers.get("Content-Type", ""), length)
            fault = self._faults.popleft() if rejection is None and self._faults else None
            if rejection is not None:
                self._attempts.append(Attempt(request_id, rejection[1], rejection[0]))
            elif fault is not None:
                self._attempts.append(Attempt(request_id, fault, 500 if fault == "http500" else None))
            elif request_id is not None:
                self._attempts.append(Attempt(request_id, "recorded", 200))
                recorded = RecordedResponse(request_id, _json_object(raw), raw, dict(handler.headers.items()))
                self._responses.setdefault(request_id, []).append(recorded)

        if rejection is not None:
            handler.send_s3_error(*rejection)
        elif fault == "http500":
            handler.send_s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
        elif fault == "reset":
            handler.reset()
        else:
            handler.send_response(200)
            handler.send_header("ETag", '"' + hashlib.md5(raw, usedforsecurity=False).hexdigest() + '"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()

    def _check(
        self, request_id: str | None, signature: str, content_type: str, length: str
    ) -> tuple[int, str, str] | None:
        """The (status, code, message) S3 would refuse this PUT with, or None when it would accept it."""
        mismatch = (403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if request_id is None:
            return (404, "NoSuchBucket", "The specified bucket does not exist")
        issued = self._issued.get(request_id)
        if issued is None or not secrets.compare_digest(signature, issued[0]):
            return mismatch
        if issued[1] < time.time():
            return (403, "AccessDenied", "Request has expired")
        if content_type:
            return mismatch  # the URL was signed with an empty Content-Type: any other value breaks it
        if not length.isdigit():
            return (411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        return None


def _random_token(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# ----------------------------------------------------------------------------------------------------
# The request


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
    logical_id: str = "Override",
    stack_id: str = DEFAULT_STACK_ID,
    resource_type: str = "Custom::RdsCertificateOverride",
    service_token: str = DEFAULT_SERVICE_TOKEN,
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


# ----------------------------------------------------------------------------------------------------
# The invocation


@dataclass(frozen=True)
class Invocation:
    """What one invocation produced, as CloudFormation and CloudWatch Logs would see it."""

    request_id: str
    response: dict[str, Any] | None
    """The body of the first answer the server accepted for the request, or None."""
    responses: list[RecordedResponse]
    """Every accepted answer (more than one is a double answer)."""
    returncode: int
    """``lambda_runner.EXIT_*``: 0 handler returned, 1 raised, 2 import failed, 3 timed out; -9 killed."""
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


@functools.cache
def default_python() -> str:
    """``python3.13`` (the Lambda runtime's version) when it is on PATH and runs, else ``sys.executable``.

    The interpreter's real path is returned, so a version-manager shim is resolved once, not at every cold
    start (a pyenv shim for a version that is installed but not selected fails; it then falls back).
    """
    found = shutil.which("python3.13")
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
    function_name: str = DEFAULT_FUNCTION_NAME,
    memory_mb: int = DEFAULT_MEMORY_MB,
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
    handler: str = "index.handler",
    python: str | None = None,
    timeout_s: float = 60,
    function_name: str = DEFAULT_FUNCTION_NAME,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Invocation:
    """Invoke ``handler`` once with ``event`` in a fresh Python process, as a Lambda cold start.

    Runs ``python -B -S -P lambda_runner.py`` with the event JSON on stdin and the environment from
    ``function_environment`` (so ``PYTHONPATH`` = ``code_dirs`` in order: the function artifact first, then a
    directory holding boto3 in place of the runtime's SDK). ``-S`` keeps the interpreter's own site-packages
    (the dev venv's, say) out of reach and ``-P`` keeps ``tools/`` off the path: the function sees only the
    standard library and ``code_dirs``, as in Lambda. ``python`` defaults to ``default_python()``.

    The runner stops the handler at ``timeout_s`` as Lambda would; this driver kills the whole process group
    if it is still running ``INIT_ALLOWANCE_S`` later. The answers the server received for the event's
    ``RequestId`` are then collected.
    """
    request_id = str(event["RequestId"])
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
    killed = False
    try:
        stdout, stderr = process.communicate(json.dumps(event).encode(), timeout=timeout_s + INIT_ALLOWANCE_S)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    wall_s = time.monotonic() - started

    out = stdout.decode("utf-8", errors="replace")
    report = _REPORT.search(out)
    responses = server.responses(request_id)
    return Invocation(
        request_id=request_id,
        response=responses[0].body if responses else None,
        responses=responses,
        returncode=process.returncode,
        stdout=out,
        stderr=stderr.decode("utf-8", errors="replace"),
        wall_s=wall_s,
        timed_out=killed or process.returncode == lambda_runner.EXIT_TIMED_OUT,
        init_ms=float(report["init"]) if report else None,
        duration_ms=float(report["duration"]) if report else None,
        max_memory_mb=int(report["memory"]) if report else None,
    )


__all__ = [
    "MAX_RESPONSE_BYTES",
    "Attempt",
    "Invocation",
    "RecordedResponse",
    "ResponseServer",
    "cfn_stringify",
    "default_python",
    "function_environment",
    "invoke",
    "make_event",
]
