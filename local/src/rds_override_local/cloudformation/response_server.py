"""The presigned S3 URL CloudFormation hands a custom resource to answer on, served on loopback over HTTPS.

An HTTPS server on 127.0.0.1 with a throwaway CA (``ca_file``, handed to the function as ``SSL_CERT_FILE``)
that records each answer, answers like S3 (200 to a good PUT, 403 to a bad signature or a non-empty
Content-Type) and can be told to fail the next attempts (``fail_next``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import socket
import socketserver
import ssl
import string
import struct
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

import trustme

from .. import settings

FaultMode = Literal["http500", "reset"]

MAX_RESPONSE_BYTES = 4096
"""CloudFormation rejects a response body larger than this ("Response object is too long")."""

_PRESIGNED_URL_TTL_S = 7200  # CloudFormation's presigned response URLs are valid for two hours


@dataclass(frozen=True)
class RecordedResponse:
    """One answer the server accepted (HTTP 200) for a request id."""

    request_id: str
    body: dict[str, Any] | None
    """The JSON-decoded body; None when the body is not a JSON object (CloudFormation would reject it)."""
    raw: bytes
    headers: dict[str, str]
    received_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when it arrived."""

    @classmethod
    def parse(cls, request_id: str, raw: bytes, headers: dict[str, str]) -> RecordedResponse:
        """The answer ``raw`` as received for ``request_id``."""
        return cls(request_id, _json_object(raw), raw, headers)

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

    def __init__(self, region: str = settings.REGION) -> None:
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
                recorded = RecordedResponse.parse(request_id, raw, dict(handler.headers.items()))
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
