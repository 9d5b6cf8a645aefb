"""Every AWS API call a function process makes, whatever the service, from botocore's own client-side
monitoring: with ``AWS_CSM_ENABLED`` set, botocore sends one UDP datagram per call (and per attempt) to
``AWS_CSM_HOST:AWS_CSM_PORT``. This listens on loopback; nothing in the function changes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple


class ApiCall(NamedTuple):
    service: str
    """botocore's service id, as CSM reports it: RDS, SSM, CloudFormation, ..."""
    api: str


class ApiCallRecorder:
    """Collects the ``ApiCall`` records (one per call, retries not counted) sent to ``env``'s port."""

    def __init__(self, sock: socket.socket) -> None:
        self._socket = sock
        self._lock = threading.Lock()
        self._calls: list[ApiCall] = []
        self._stopped = threading.Event()

    @property
    def env(self) -> dict[str, str]:
        """What the function's environment needs for its calls to be recorded here."""
        host, port = self._socket.getsockname()
        return {"AWS_CSM_ENABLED": "true", "AWS_CSM_HOST": host, "AWS_CSM_PORT": str(port)}

    def take(self) -> list[ApiCall]:
        """The calls recorded since the last `take` (after a moment for the last datagrams to land)."""
        time.sleep(0.05)
        with self._lock:
            calls, self._calls = self._calls, []
        return calls

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                datagram = self._socket.recv(65536)
            except TimeoutError:
                continue
            try:
                record = json.loads(datagram)
            except ValueError:
                continue
            if record.get("Type") == "ApiCall":
                with self._lock:
                    self._calls.append(ApiCall(str(record.get("Service")), str(record.get("Api"))))


@contextmanager
def api_call_recorder() -> Iterator[ApiCallRecorder]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        recorder = ApiCallRecorder(sock)
        thread = threading.Thread(target=recorder._receive, daemon=True)
        thread.start()
        try:
            yield recorder
        finally:
            recorder._stopped.set()
            thread.join()
