"""CloudFormation's side of a custom resource, as one API: build a request, deliver it, read the answer.

``CloudFormation.send`` builds a request as CloudFormation would and delivers it to a function, which is
either

- a ``FreshProcessFunction``: the built artifact, run in a fresh Python process per request (a Lambda cold
  start), answering over HTTPS to a ``ResponseServer`` (the demo, the end-to-end tests, the bench); or
- an ``InProcessFunction``: a handler called in this process, its answer captured where it would be PUT
  (the handler tests, under moto's ``mock_aws``).

The two differ only in how the answer is delivered: either way ``send`` returns an ``Invocation``, whose
``answer`` is the one answer, checked as CloudFormation takes it, and ``rds_calls()`` lists the RDS calls
the request made (the RDS emulator's call log, ``RDSCall(region, action)``).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from .. import lambda_runner, rds_emulator, settings
from .events import make_event
from .fresh_process import Invocation, invoke
from .response_server import RecordedResponse, ResponseServer


class Function(Protocol):
    """Where CloudFormation delivers a custom resource's requests, and where it reads their answers."""

    timeout_s: float

    def response_url(self, request_id: str) -> str:
        """The presigned URL the function answers ``request_id`` on."""
        ...

    def signature(self, request_id: str) -> str | None:
        """The secret part of that URL, which must never reach a log."""
        ...

    def invoke(self, event: Mapping[str, Any], env: Mapping[str, str]) -> Invocation:
        """Run the function once with ``event`` (``env`` on top of its environment)."""
        ...


@dataclass
class FreshProcessFunction:
    """The function's code run in a fresh Python process per request, answering to ``server`` over HTTPS."""

    server: ResponseServer
    code_dirs: Sequence[str]
    """The artifact first, then a directory holding boto3 in place of the runtime's SDK."""
    env: dict[str, str] = field(default_factory=dict)
    """The function's environment variables (template.yaml's, plus the endpoint of the RDS emulator)."""
    python: str | None = None
    timeout_s: float = settings.TIMEOUT_S
    handler: str = settings.HANDLER

    def response_url(self, request_id: str) -> str:
        return self.server.response_url(request_id)

    def signature(self, request_id: str) -> str | None:
        return self.server.signature(request_id)

    def invoke(self, event: Mapping[str, Any], env: Mapping[str, str]) -> Invocation:
        return invoke(
            event,
            server=self.server,
            code_dirs=self.code_dirs,
            env={**self.env, **env},
            handler=self.handler,
            python=self.python,
            timeout_s=self.timeout_s,
        )


class InProcessFunction:
    """A handler called in this process. It must answer through ``put_response``: put that in place of the
    function's own PUT (``monkeypatch.setattr(cfn_resource, "put_response", function.put_response)``)."""

    def __init__(
        self,
        handler: Callable[[dict[str, Any], Any], object],
        *,
        region: str = settings.REGION,
        timeout_s: float = settings.TIMEOUT_S,
        signature: str | None = None,
    ) -> None:
        self.handler = handler
        self.region = region
        self.timeout_s = timeout_s
        self._signature = signature or secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._issued: dict[str, str] = {}  # URL -> request id
        self._answers: dict[str, list[RecordedResponse]] = {}

    def response_url(self, request_id: str, *, signed_at: float | None = None) -> str:
        """Shaped like CloudFormation's presigned S3 URL (SigV4, signed now or at ``signed_at``, valid two
        hours); nothing listens there."""
        bucket = "cloudformation-custom-resource-response-" + self.region.replace("-", "")
        amz_date = time.strftime(
            "%Y%m%dT%H%M%SZ", time.gmtime(time.time() if signed_at is None else signed_at)
        )
        url = (
            f"https://{bucket}.s3-{self.region}.amazonaws.com/arn%3Aaws%3Acloudformation/"
            f"{quote(request_id, safe='')}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}"
            f"&X-Amz-SignedHeaders=host&X-Amz-Expires=7200&X-Amz-Signature={self._signature}"
        )
        with self._lock:
            self._issued[url] = request_id
        return url

    def signature(self, request_id: str) -> str | None:
        with self._lock:
            return self._signature if request_id in self._issued.values() else None

    def put_response(self, url: str, body: bytes, **_: object) -> bool:
        """Record ``body`` as the answer for the request ``url`` was issued for; False for any other URL,
        as S3 refuses a URL whose signature it did not make."""
        with self._lock:
            request_id = self._issued.get(url)
            if request_id is None:
                return False
            self._answers.setdefault(request_id, []).append(RecordedResponse.parse(request_id, body, {}))
        return True

    def invoke(self, event: Mapping[str, Any], env: Mapping[str, str]) -> Invocation:
        if env:
            raise ValueError(
                f"an in-process function reads this process's environment: set {sorted(env)} there "
                "(monkeypatch.setenv), not per request"
            )
        request_id = str(event["RequestId"])
        with self._lock:
            answered_before = len(self._answers.get(request_id, []))
        context = lambda_runner.LambdaContext(
            function_name=settings.FUNCTION_NAME,
            memory_mb=settings.MEMORY_MB,
            region=self.region,
            account_id=settings.ACCOUNT_ID,
            aws_request_id=str(uuid.uuid4()),
            timeout_s=self.timeout_s,
        )
        started = time.monotonic()
        self.handler(dict(event), context)
        elapsed_s = time.monotonic() - started
        with self._lock:
            responses = self._answers.get(request_id, [])[answered_before:]
        return Invocation(
            request_id=request_id,
            response=responses[0].body if responses else None,
            responses=responses,
            returncode=lambda_runner.EXIT_OK,
            stdout="",
            stderr="",
            wall_s=elapsed_s,
            timed_out=False,
            init_ms=None,
            duration_ms=elapsed_s * 1000,
            max_memory_mb=None,
        )


class CloudFormation:
    """Sends one custom resource's requests to ``function``, as CloudFormation would."""

    def __init__(
        self,
        function: Function,
        *,
        logical_id: str = settings.LOGICAL_ID,
        stack_id: str = settings.STACK_ID,
        service_timeout_s: int = settings.SERVICE_TIMEOUT_S,
        check_answers: bool = False,
    ) -> None:
        """``check_answers``: raise ``UnacceptableAnswer`` at once unless a request gets exactly one answer
        that CloudFormation accepts (``Invocation.answer``), rather than leave that to the caller."""
        self.function = function
        self.logical_id = logical_id
        self.stack_id = stack_id
        self.service_timeout_s = service_timeout_s
        self.check_answers = check_answers

    def event(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The request, with the ``ServiceTimeout`` the template declares and a new request id."""
        timeout = {"ServiceTimeout": self.service_timeout_s}
        request_id = str(uuid.uuid4())
        return make_event(
            request_type,
            {**timeout, **properties},
            physical_id=physical_id,
            old_properties={**timeout, **old_properties} if old_properties is not None else None,
            response_url=self.function.response_url(request_id),
            request_id=request_id,
            logical_id=self.logical_id,
            stack_id=self.stack_id,
        )

    def deliver(self, event: Mapping[str, Any], *, env: Mapping[str, str] | None = None) -> Invocation:
        """Invoke the function with ``event``; the RDS call log then holds this request's calls only."""
        rds_emulator.reset_calls()
        invocation = self.function.invoke(event, env or {})
        if self.check_answers:
            _ = invocation.answer
        return invocation

    def send(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Invocation:
        """Build a request (as ``event``) and deliver it."""
        event = self.event(request_type, properties, physical_id=physical_id, old_properties=old_properties)
        return self.deliver(event, env=env)

    def rds_calls(self) -> list[rds_emulator.RDSCall]:
        """The RDS calls the last request made, every HTTP attempt (so retries count)."""
        return rds_emulator.calls()
