"""crhelper's CfnResource, with the answer to CloudFormation made safe.

crhelper dispatches the events, runs the timeout timer and keeps init failures; this subclass replaces only
how the answer is built and delivered, because crhelper 2.0.12:
- answers a timeout or an init failure with an empty PhysicalResourceId, which CloudFormation rejects;
- logs the presigned ResponseURL at DEBUG (anyone holding it can answer for the stack);
- ignores the HTTP status of the PUT and retries a failing PUT forever;
- can answer twice (its timer, then the function) and truncates a long Reason to its tail;
- sleeps before every Delete (sleep_on_delete) and answers a timeout only 0.5 s before the deadline;
- builds three boto3 clients for its polling mode, which this resource does not use.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from crhelper import CfnResource, resource_helper

from override import failed_create_physical_id

SERVICE = "rds-certificate-override"
# A child of the handler's Powertools logger (same name prefix): its records get the same JSON and keys.
# A plain logging logger, so that importing this module cannot fail on a bad log-level setting.
logger = logging.getLogger(f"{SERVICE}.answer")

MAX_BODY_BYTES = 4096  # CloudFormation's limit for a custom resource response
MAX_REASON_CHARS = 1024
TRUNCATED = " ...(truncated)"
# Answer a timeout this long before the function's deadline: time enough for the PUT and its retries.
TIMEOUT_MARGIN_SECONDS = 5.0
PUT_ATTEMPTS = 4
PUT_TIMEOUT_SECONDS = 3.0
PUT_BACKOFF_SECONDS = (0.2, 0.5, 1.0)

ANSWERS_KEPT = 64

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def response_body(
    event: Mapping[str, Any],
    *,
    status: str,
    physical_id: str,
    reason: str = "",
    data: Mapping[str, str] | None = None,
) -> bytes:
    """The JSON answer, never more than CloudFormation's 4096 bytes, however long the Reason."""
    body = {
        "Status": status,
        "Reason": _truncate(reason, MAX_REASON_CHARS),
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId", ""),
        "RequestId": event.get("RequestId", ""),
        "LogicalResourceId": event.get("LogicalResourceId", ""),
        "NoEcho": False,
        "Data": dict(data or {}),
    }
    if len(_encode(body)) > MAX_BODY_BYTES and body["Data"]:
        # Attributes cannot be cut meaningfully: a FAILED answer that says why beats a rejected one.
        body.update(
            Status=FAILED, Data={}, Reason=f"The response data is too large for CloudFormation. {reason}"
        )
    # JSON escapes a character into up to 12 bytes: cut the Reason until the whole body fits.
    while (overflow := len(_encode(body)) - MAX_BODY_BYTES) > 0:
        shorter = _truncate(body["Reason"], len(body["Reason"]) - max(overflow // 12, 1))
        if shorter == body["Reason"]:
            break
        body["Reason"] = shorter
    return _encode(body)


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - len(TRUNCATED), 0)] + TRUNCATED


def put_response(url: str, body: bytes, *, deadline: float | None = None) -> bool:
    """PUT the answer to the presigned URL, retrying connection errors and 5xx a bounded number of times.

    The URL is a credential: it is never logged, only the outcome of each attempt. CloudFormation's is
    always https; anything else (file:, http:) is refused rather than opened.
    """
    if urllib.parse.urlsplit(url).scheme != "https":
        logger.error("The ResponseURL is not an https URL: CloudFormation cannot be answered")
        return False
    # The empty Content-Type is part of the presigned signature; urllib would otherwise add its own.
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    for attempt in range(1, PUT_ATTEMPTS + 1):
        try:
            # The scheme is checked above (https only): hence the noqa and the nosec.
            with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS) as answer:  # noqa: S310  # nosec B310
                logger.info("CloudFormation answered", extra={"attempt": attempt, "http": answer.status})
                return True
        except urllib.error.HTTPError as error:
            outcome = f"HTTP {error.code}"
            if error.code < 500:
                logger.error(
                    "CloudFormation rejected the answer", extra={"attempt": attempt, "http": error.code}
                )
                return False
        except (OSError, http.client.HTTPException, ValueError) as error:
            # Only the type: the message of some (InvalidURL) quotes the URL.
            outcome = type(error).__name__
        logger.warning("CloudFormation response not delivered", extra={"attempt": attempt, "error": outcome})
        if attempt < PUT_ATTEMPTS:
            pause = PUT_BACKOFF_SECONDS[min(attempt, len(PUT_BACKOFF_SECONDS)) - 1]
            if deadline is not None and time.monotonic() + pause + PUT_TIMEOUT_SECONDS > deadline:
                break
            time.sleep(pause)
    logger.error("CloudFormation response could not be delivered", extra={"attempts": PUT_ATTEMPTS})
    return False


# The query string of a presigned URL (the ResponseURL): X-Amz-Signature, X-Amz-Credential, ...
_PRESIGNED_QUERY = re.compile(r"\?[^\s'\"]*X-Amz-[^\s'\"]*", re.IGNORECASE)
_REDACTED = "?<presigned query redacted>"


def redact(text: str) -> str:
    return _PRESIGNED_QUERY.sub(_REDACTED, text)


def install_log_redaction() -> None:
    """Remove presigned query strings from every log record of the process, whoever logs it: crhelper at
    DEBUG logs the whole event, and an exception's message or traceback may quote the URL. Our own code
    never logs the URL; this is the net under every other path."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts_presigned_urls", False):
        return

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it itself
            return record
        if (redacted := redact(message)) != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[0] is not None:
            details = "".join(traceback.format_exception(*record.exc_info))
            if (redacted := redact(details)) != details:
                record.msg, record.args = f"{record.getMessage()}\n{redacted}", None
                record.exc_info = record.exc_text = None
        return record

    redacting_record.redacts_presigned_urls = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_record)


class _NoPollingClients:
    """Stands in for boto3 while crhelper initialises: its polling clients are never used."""

    @staticmethod
    def client(*_args: Any, **_kwargs: Any) -> None:
        return None


class SafeCfnResource(CfnResource):
    def __init__(self, *, on_answer: Callable[[dict[str, Any]], None] | None = None) -> None:
        # crhelper builds lambda, events and logs clients for its polling mode, which this resource never
        # uses (it answers within one invocation); they cost a cold start more than the RDS client does.
        resource_helper.boto3 = _NoPollingClients  # type: ignore[attr-defined]
        try:
            # log_level only sets the root logger; our own logging is Powertools'. No sleep before Delete.
            super().__init__(json_logging=False, log_level="WARNING", boto_level="WARNING", sleep_on_delete=0)
        finally:
            resource_helper.boto3 = boto3  # type: ignore[attr-defined]
        self._answer_lock = threading.Lock()
        self._answered = False
        self._deadline: float | None = None
        self._on_answer = on_answer
        # Answers by RequestId: a request delivered again to this (warm) instance gets the same answer, and
        # RDS is not asked twice. A cold instance has no memory; see docs/reliability.md.
        self._answers: OrderedDict[str, bytes] = OrderedDict()

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        with self._answer_lock:
            self._answered = False
        # crhelper keeps the previous invocation's event until its own init: never answer that one.
        self._event = event
        self._response_url = event.get("ResponseURL", "")
        remaining = context.get_remaining_time_in_millis() / 1000 if context else None
        self._deadline = time.monotonic() + remaining if remaining else None
        previous_answer = self._answers.get(str(event.get("RequestId")))
        if previous_answer is not None and self._response_url:
            logger.warning("This request was answered before: sending the same answer, changing nothing")
            put_response(self._response_url, previous_answer, deadline=self._deadline)
            return
        super().__call__(event, context)

    def refuse(self, event: dict[str, Any], context: Any, *, reason: str, physical_id: str) -> None:
        """Answer FAILED without dispatching the event: for an event that must change nothing."""
        with self._answer_lock:
            self._answered = False
        self._event = event
        self._response_url = event.get("ResponseURL", "")
        remaining = context.get_remaining_time_in_millis() / 1000 if context else None
        self._deadline = time.monotonic() + remaining if remaining else None
        self.Status, self.Reason, self.PhysicalResourceId, self.Data = FAILED, reason, physical_id, {}
        self._send(FAILED, reason)

    def leave_the_answer(self, why: str) -> None:
        """Answer nothing, the timer included: another delivery of the same request is doing the work and
        will answer. Two answers to one request could disagree, and CloudFormation takes the first."""
        with self._answer_lock:
            self._answered = True
        logger.warning(f"No answer from this delivery: {why}")

    def seconds_until_timeout_answer(self) -> float:
        """Time left before the timer answers FAILED (infinite when the invocation has no deadline); none
        once CloudFormation was answered: nothing may be written after the answer."""
        with self._answer_lock:
            if self._answered:
                return 0.0
        if self._deadline is None:
            return float("inf")
        return self._deadline - TIMEOUT_MARGIN_SECONDS - time.monotonic()

    def generate_physical_id(self, event: Mapping[str, Any]) -> str:
        # crhelper asks for one only when a Create produced none, that is when it failed.
        return failed_create_physical_id(str(event.get("RequestId", "")))

    def _set_timeout(self) -> None:
        seconds = self._context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_SECONDS  # type: ignore[attr-defined]
        self._timer = threading.Timer(max(seconds, 0.0), self._timeout)
        self._timer.daemon = True
        self._timer.start()

    def _timeout(self) -> None:
        self._send(
            FAILED,
            "The function is about to time out (its log names the step that was slow): whatever it had "
            "written by then remains, recorded as pending, and the rollback undoes it",
        )

    def _send(self, status: str | None = None, reason: str = "", send_response: Any = None) -> None:
        with self._answer_lock:
            if self._answered:
                logger.warning("CloudFormation was answered already; a second answer is not sent")
                return
            self._answered = True
        event = self._event or {}
        status = status or self.Status or FAILED
        reason = reason or self.Reason
        physical_id = (
            str(self.PhysicalResourceId or "")
            or str(event.get("PhysicalResourceId") or "")
            or failed_create_physical_id(str(event.get("RequestId", "")))
        )
        data = self.Data if status == SUCCESS else {}
        body = response_body(event, status=status, physical_id=physical_id, reason=reason, data=data)
        self._answers[str(event.get("RequestId"))] = body
        while len(self._answers) > ANSWERS_KEPT:
            self._answers.popitem(last=False)
        if self._on_answer:
            self._on_answer(json.loads(body))
        if not self._response_url:
            logger.error("The event has no ResponseURL: CloudFormation cannot be answered")
            return
        put_response(self._response_url, body, deadline=self._deadline)
