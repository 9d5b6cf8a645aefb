"""Run one Lambda invocation in this process, as the Lambda Python runtime would on a cold start.

``rds_override_local.cloudformation.fresh_process`` starts ``python -B -S -P lambda_runner.py --handler
index.handler ...`` in a fresh process with ``PYTHONPATH`` set to the function's code and the event JSON on
stdin. This script then does what the runtime does:

1. installs a root logging handler with the runtime's text format
   (``[LEVEL]\\t<time>\\t<request id>\\t<msg>``) before the function's code is imported, so that
   ``logging`` calls in the function reach the log;
2. imports the handler module by name (the "init" phase);
3. prints ``START``, calls ``handler(event, context)`` with a ``LambdaContext``-like object whose
   ``get_remaining_time_in_millis()`` counts down from ``--timeout``, and stops the process at that
   deadline like Lambda does ("Task timed out");
4. prints ``END`` and a ``REPORT`` line (duration, max memory used, init duration) and exits.

Exit status: ``EXIT_OK`` when the handler returned, ``EXIT_HANDLER_ERROR`` when it raised,
``EXIT_INIT_ERROR`` when the module could not be imported, ``EXIT_TIMED_OUT`` at the deadline.
The process exits with ``os._exit`` once the handler is done: a frozen Lambda sandbox does not wait for
threads the handler left behind, and neither does this.

Only the standard library is used, and nothing of the package it lives in: it runs by path, and the
function's process must see nothing but its own code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import resource
import sys
import threading
import time
import traceback
import uuid
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_HANDLER_ERROR = 1
EXIT_INIT_ERROR = 2
EXIT_TIMED_OUT = 3


class LambdaContext:
    """The attributes of the runtime's context object that handlers and libraries read."""

    def __init__(
        self,
        *,
        function_name: str,
        memory_mb: int,
        region: str,
        account_id: str,
        aws_request_id: str,
        timeout_s: float,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = str(memory_mb)  # the runtime passes it as a string
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.aws_request_id = aws_request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME") or f"/aws/lambda/{function_name}"
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or (
            time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        )
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the runtime stops the invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestIdFilter(logging.Filter):
    """Adds ``aws_request_id`` to every record, as the runtime's log filter does."""

    def __init__(self, aws_request_id: str) -> None:
        super().__init__()
        self.aws_request_id = aws_request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.aws_request_id
        return True


def _setup_logging(request_ids: _RequestIdFilter) -> None:
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)


def _report(aws_request_id: str, started: float, init_ms: float, status: str = "") -> None:
    duration_ms = (time.monotonic() - started) * 1000
    max_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    memory_size = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    line = (
        f"REPORT RequestId: {aws_request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_mb} MB\tInit Duration: {init_ms:.2f} ms"
    )
    print(f"END RequestId: {aws_request_id}")
    print(line + (f"\tStatus: {status}" if status else ""))


def _exit(code: int) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _log_error(kind: str, exc: BaseException) -> None:
    print(f"[ERROR] {kind}: {exc}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)


def main(argv: list[str] | None = None) -> NoReturn:
    """Read the event from stdin, run the handler once, and exit with one of the ``EXIT_*`` codes. With
    ``--warm``, stdin holds a JSON list of events, invoked one after another in this process, as a warm
    sandbox serves them: the module is imported once (the exit code is then the worst of them)."""
    parser = argparse.ArgumentParser(description="Run Lambda invocations (event JSON on stdin).")
    parser.add_argument("--handler", required=True, help="module.function, e.g. index.handler")
    parser.add_argument("--timeout", type=float, required=True, help="function timeout in seconds")
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--account-id", required=True, help="for the context's invoked_function_arn")
    parser.add_argument("--warm", action="store_true", help="stdin holds a JSON list of events")
    args = parser.parse_args(argv)

    payload: Any = json.load(sys.stdin)
    events = payload if args.warm else [payload]
    request_ids = _RequestIdFilter(str(uuid.uuid4()))
    _setup_logging(request_ids)

    init_started = time.monotonic()
    module_name, _, function_name = args.handler.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        _log_error(f"Runtime.ImportModuleError: Unable to import module '{module_name}'", exc)
        _exit(EXIT_INIT_ERROR)
    init_ms = (time.monotonic() - init_started) * 1000

    code = EXIT_OK
    for event in events:
        request_ids.aws_request_id = str(uuid.uuid4())
        code = max(code, _invoke(handler, event, args, request_ids.aws_request_id, init_ms))
        init_ms = 0.0  # a warm invocation has no init
    _exit(code)


def _invoke(handler: Any, event: Any, args: argparse.Namespace, aws_request_id: str, init_ms: float) -> int:
    """One invocation; at its deadline the whole process ends, as Lambda ends the sandbox."""
    region = os.environ.get("AWS_REGION", "us-east-1")
    print(f"START RequestId: {aws_request_id} Version: $LATEST", flush=True)
    started = time.monotonic()
    context = LambdaContext(
        function_name=args.function_name,
        memory_mb=args.memory_mb,
        region=region,
        account_id=args.account_id,
        aws_request_id=aws_request_id,
        timeout_s=args.timeout,
    )

    finished = threading.Lock()  # taken by whichever ends the invocation: the handler or the deadline

    def timed_out() -> None:
        if not finished.acquire(blocking=False):
            return
        print(f"{aws_request_id} Task timed out after {args.timeout:.2f} seconds")
        _report(aws_request_id, started, init_ms, status="timeout")
        _exit(EXIT_TIMED_OUT)

    watchdog = threading.Timer(args.timeout, timed_out)
    watchdog.daemon = True
    watchdog.start()
    code = EXIT_OK
    try:
        handler(event, context)
    except Exception as exc:
        _log_error(type(exc).__name__, exc)
        code = EXIT_HANDLER_ERROR
    watchdog.cancel()
    if not finished.acquire(blocking=False):
        threading.Event().wait()  # the deadline won the race: its thread is ending the process
    _report(aws_request_id, started, init_ms)
    return code


if __name__ == "__main__":
    main()
