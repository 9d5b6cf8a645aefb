"""A model of the AWS the function talks to, answering at botocore's wire (`before-send`).

The model builds the HTTP answer (`AWSResponse`) itself, so botocore's real parsing, error codes and
standard-mode retries run unchanged. SSM speaks JSON; RDS and CloudFormation the query protocol (XML).

Faults are injected where AWS can produce them: throttling and 5xx (retried by the SDK), a connection that
fails before the request lands, a write stored but its answer lost (the SDK retries it), SSM's
`TooManyUpdates` (not retried), and `GetParametersByPath` pages shorter than asked for (other events' writes
land between pages: each page is its own call and scheduling point). Faults stop after
`FAULTY_ATTEMPTS` attempts of one call, so the SDK's 5 attempts always get through: a failure the function
reports is then one it could have absorbed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from .scheduler import Scheduler

DECLARATIONS_PREFIX = "/rds-certificate-override/declarations/"
LOCK_PREFIX = "/rds-certificate-override/region-lock/"
CERTIFICATES = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")
SYSTEM_DEFAULT = "rds-ca-rsa2048-g1"
FAULTY_ATTEMPTS = 3
"""Attempts of one call that may meet a fault: the 4th of the SDK's 5 always gets through."""
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
"""As lambda/aws_sdk.py configures the clients: what a dropped connection costs the caller."""
MUTATING = {"PutParameter", "DeleteParameter", "DeleteParameters", "ModifyCertificates"}
_ATTEMPT = re.compile(r"attempt=(\d+)")


@dataclass
class Faults:
    """How often each fault strikes in one schedule (drawn from its seed: some schedules are calm)."""

    throttle: float = 0.0
    server_error: float = 0.0
    dropped: float = 0.0
    lost_answer: float = 0.0
    too_many_updates: float = 0.0
    short_page: float = 0.0
    slow: float = 0.0
    """A latency spike: the answer comes after 1 to 4.9 s (within the read timeout)."""
    hung: float = 0.0
    """Of the connections dropped, those that hang: a slow connect, then the read timeout (3 + 5 s)."""
    faulty_attempts: int = FAULTY_ATTEMPTS
    page_stall: float = 0.0
    """A page that says more follow comes back late (2 to 10 s): another event's whole change can land
    before the reader asks for the next page."""

    @classmethod
    def draw(cls, rng: Any, *, storm: bool = False) -> Faults:
        """`storm`: every schedule a storm (`--storm`), where writes can outlast the function's budget."""
        if rng.random() < 0.15 and not storm:
            return cls()
        # Mostly a few faults; sometimes a storm, in which a write can outlast the function's time budget.
        scale = 0.5 if storm else rng.choice((0.03, 0.08, 0.15, 0.15, 0.4))
        if storm:
            # Each of the SDK's first 4 attempts may hang for its whole connect and read timeouts: one call
            # can take 4 x 8 s plus backoff, as much as aws_sdk.WORST_CASE_CALL_SECONDS allows.
            return cls(
                throttle=0.1,
                server_error=0.05,
                dropped=scale * rng.random(),
                lost_answer=scale * rng.random() * 2,
                short_page=rng.random(),
                slow=scale * rng.random(),
                hung=0.7,
                faulty_attempts=4,
                page_stall=0.3,
            )
        return cls(
            throttle=scale * rng.random(),
            server_error=scale * rng.random() / 2,
            dropped=scale * rng.random() / 2,
            lost_answer=scale * rng.random() * 2,
            too_many_updates=scale * rng.random(),
            short_page=rng.random(),
            slow=scale * rng.random(),
        )


class Caller(Protocol):
    """The delivery (one invocation of the function for one CloudFormation request) making a call."""

    name: str
    request_id: str


@dataclass
class Parameter:
    value: str
    version: int
    modified_at: float
    modified_by: str


@dataclass
class Write:
    """A change the model applied to RDS or a declaration: what I1 looks at."""

    at: float
    caller: Caller
    target: str
    detail: str
    withdrawal_create: bool = False
    """A create-only put of a withdrawal mark: written without the lock by design."""


@dataclass
class AwsModel:
    scheduler: Scheduler
    region: str
    account: str
    faults: Faults
    initial_override: str | None = None
    stack_status: Callable[[str], str | None] = lambda _arn: None
    """CloudFormation's answer for a stack ARN: its status, or None once it 'does not exist'."""
    on_write: Callable[[Write], None] = lambda _write: None
    parameters: dict[str, Parameter] = field(default_factory=dict)
    override: str | None = None
    writes: list[Write] = field(default_factory=list)
    calls: int = 0
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    """What the explorer saw happen on the way (kind, caller, detail): a lock name created a second
    time, a ledger read torn by another's write between its pages, a lock generation taken."""
    _ids: int = 0
    _ever: set[str] = field(default_factory=set)
    _changes: int = 0
    _reads: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.override = self.initial_override

    # --- the wire ------------------------------------------------------------------------------------
    def answer(self, caller: Caller, request: Any, operation: str) -> AWSResponse:
        """Answer one attempt of one call, as AWS would; raise botocore's connection errors for lost ones."""
        sched, rng = self.scheduler, self.scheduler.rng
        self.calls += 1
        match = _ATTEMPT.search(_header(request, "amz-sdk-request"))
        attempt = int(match.group(1)) if match else 1
        service = _service(request.url)
        params = _params(request, service)
        sched.point(f"{service} {operation} attempt {attempt} {_brief(params)}")
        faulty = attempt <= self.faults.faulty_attempts
        roll = rng.random() if faulty else float("inf")  # past FAULTY_ATTEMPTS: no fault at all
        f = self.faults
        if roll < f.throttle:
            sched.sleep(rng.uniform(0.01, 0.1), f"{operation} <- throttled")
            code = "Throttling" if service != "ssm" else "ThrottlingException"
            return self._error(service, 400, code, "Rate exceeded")
        roll -= f.throttle
        if roll < f.server_error:
            sched.sleep(rng.uniform(0.01, 0.5), f"{operation} <- 5xx")
            return self._error(service, rng.choice((500, 503)), "InternalFailure", "Internal error")
        roll -= f.server_error
        if roll < f.dropped:
            if f.hung and rng.random() < f.hung:
                sched.sleep(CONNECT_TIMEOUT + READ_TIMEOUT, f"{operation} <- hung, never landed")
                raise ReadTimeoutError(endpoint_url=request.url)
            sched.sleep(CONNECT_TIMEOUT, f"{operation} <- connection dropped before it landed")
            raise ConnectTimeoutError(endpoint_url=request.url)
        roll -= f.dropped
        if operation == "PutParameter" and roll < f.too_many_updates and self._contended(caller, params):
            sched.sleep(rng.uniform(0.01, 0.1), f"{operation} <- TooManyUpdates")
            return self._error(service, 400, "TooManyUpdates", "Too many updates to the parameter")
        roll -= f.too_many_updates
        lost = operation in MUTATING and roll < f.lost_answer
        status, body = self._apply(caller, service, operation, params)
        if lost:
            stall = READ_TIMEOUT + (CONNECT_TIMEOUT if f.hung and rng.random() < f.hung else 0.0)
            sched.sleep(stall, f"{operation} <- stored ({status}), answer lost")
            raise ReadTimeoutError(endpoint_url=request.url)
        latency = rng.uniform(1.0, 4.9) if rng.random() < f.slow else rng.uniform(0.01, 0.2)
        if f.page_stall and b"NextToken" in body and rng.random() < f.page_stall:
            latency = rng.uniform(2.0, 10.0)
        sched.sleep(latency, f"{operation} <- {status} {_brief_answer(body)}")
        return _response(request.url, status, body, service)

    def _contended(self, caller: Caller, params: dict[str, Any]) -> bool:
        """SSM answers TooManyUpdates to concurrent changes: a create-only put of a lock generation (takers
        race for it), or a parameter another caller changed within the last second."""
        name = str(params.get("Name", ""))
        if name.startswith(LOCK_PREFIX) and not params.get("Overwrite", False):
            return True
        existing = self.parameters.get(name)
        return (
            existing is not None
            and existing.modified_by != caller.name
            and self.scheduler.now - existing.modified_at < 1.0
        )

    # --- the services --------------------------------------------------------------------------------
    def _apply(
        self, caller: Caller, service: str, operation: str, params: dict[str, Any]
    ) -> tuple[int, bytes]:
        handler = getattr(self, f"_{service}_{operation}", None)
        if handler is None:
            return self._error_body(service, 400, "InvalidAction", f"{operation} is not modelled")
        result: tuple[int, bytes] = handler(caller, params)
        return result

    def _write(self, caller: Caller, target: str, detail: str, *, withdrawal_create: bool = False) -> None:
        write = Write(self.scheduler.now, caller, target, detail, withdrawal_create)
        self.writes.append(write)
        self.on_write(write)

    def _ssm_PutParameter(self, caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        name, value = params["Name"], params["Value"]
        existing = self.parameters.get(name)
        if existing is not None and not params.get("Overwrite", False):
            return self._error_body("ssm", 400, "ParameterAlreadyExists", "The parameter already exists.")
        version = existing.version + 1 if existing else 1
        self.parameters[name] = Parameter(value, version, self.scheduler.now, caller.name)
        self._changed(caller)
        if name.startswith(LOCK_PREFIX) and existing is None and "ExpiresAt" in value:
            self._note("lock-taken", caller, f"{caller.request_id} {name}")
            if name in self._ever:
                self._note("lock-recreated", caller, name)
        self._ever.add(name)
        if name.startswith(DECLARATIONS_PREFIX):
            withdrawn = '"State":"withdrawn"' in value
            self._write(
                caller, name, f"put {_state(value)}", withdrawal_create=withdrawn and existing is None
            )
        return 200, json.dumps({"Version": version, "Tier": "Standard"}).encode()

    def _note(self, kind: str, caller: Caller, detail: str) -> None:
        self.notes.append((kind, caller.name, detail))
        self.scheduler.log("MODEL", f"{kind}: {caller.name} {detail}")

    def _changed(self, caller: Caller) -> None:
        self._changes += 1

    def _ssm_GetParametersByPath(self, caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        path = params["Path"].rstrip("/") + "/"
        recursive = params.get("Recursive", False)
        limit = min(int(params.get("MaxResults", 10)), 10)
        if self.scheduler.rng.random() < self.faults.short_page:
            limit = self.scheduler.rng.randint(1, limit)
        after = params.get("NextToken", "")
        if not after:
            self._reads[caller.name] = self._changes
        elif self._changes != self._reads.get(caller.name, self._changes):
            self._note("torn-read", caller, f"{caller.request_id} the ledger changed between pages")
            self._reads[caller.name] = self._changes
        names = sorted(
            n for n in self.parameters if n.startswith(path) and (recursive or "/" not in n[len(path) :])
        )
        names = [n for n in names if n > after]
        page, rest = names[:limit], names[limit:]
        answer: dict[str, Any] = {
            "Parameters": [
                {
                    "Name": n,
                    "Type": "String",
                    "Value": self.parameters[n].value,
                    "Version": self.parameters[n].version,
                    "LastModifiedDate": self.parameters[n].modified_at,
                    "ARN": f"arn:aws:ssm:{self.region}:{self.account}:parameter{n}",
                    "DataType": "text",
                }
                for n in page
            ]
        }
        if rest:
            answer["NextToken"] = page[-1] if page else after
        return 200, json.dumps(answer).encode()

    def _ssm_DeleteParameter(self, caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        name = params["Name"]
        if self.parameters.pop(name, None) is None:
            return self._error_body("ssm", 400, "ParameterNotFound", f"Parameter {name} not found.")
        self._changed(caller)
        if name.startswith(DECLARATIONS_PREFIX):
            self._write(caller, name, "delete")
        return 200, b"{}"

    def _ssm_DeleteParameters(self, caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        deleted, invalid = [], []
        for name in params["Names"]:
            if self.parameters.pop(name, None) is None:
                invalid.append(name)
                continue
            deleted.append(name)
            self._changed(caller)
            if name.startswith(DECLARATIONS_PREFIX):
                self._write(caller, name, "delete")
        return 200, json.dumps({"DeletedParameters": deleted, "InvalidParameters": invalid}).encode()

    def _rds_DescribeCertificates(self, _caller: Caller, _params: dict[str, Any]) -> tuple[int, bytes]:
        certificates = "".join(self._certificate_xml(c) for c in CERTIFICATES)
        result = (
            f"<DefaultCertificateForNewLaunches>{self.override or SYSTEM_DEFAULT}"
            f"</DefaultCertificateForNewLaunches><Certificates>{certificates}</Certificates>"
        )
        return 200, self._query_body(
            "DescribeCertificates", result, "http://rds.amazonaws.com/doc/2014-10-31/"
        )

    def _rds_ModifyCertificates(self, caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        if params.get("RemoveCustomerOverride") == "true":
            before, self.override = self.override, None
            self._write(caller, "rds", "remove the override")
            shown = before or SYSTEM_DEFAULT
        else:
            wanted = params.get("CertificateIdentifier", "")
            if wanted not in CERTIFICATES:
                return self._error_body("rds", 404, "CertificateNotFound", f"{wanted} not found")
            self.override = shown = wanted
            self._write(caller, "rds", f"override {wanted}")
        result = self._certificate_xml(shown)
        return 200, self._query_body("ModifyCertificates", result, "http://rds.amazonaws.com/doc/2014-10-31/")

    def _certificate_xml(self, identifier: str) -> str:
        overridden = identifier == self.override
        valid_till = "2061-05-21T22:23:47Z" if identifier == SYSTEM_DEFAULT else "2121-05-21T22:33:33Z"
        return (
            f"<Certificate><CertificateIdentifier>{identifier}</CertificateIdentifier>"
            "<CertificateType>CA</CertificateType><Thumbprint>0</Thumbprint>"
            f"<ValidFrom>2021-05-21T22:23:47Z</ValidFrom><ValidTill>{valid_till}</ValidTill>"
            f"<CertificateArn>arn:aws:rds:{self.region}::cert:{identifier}</CertificateArn>"
            f"<CustomerOverride>{'true' if overridden else 'false'}</CustomerOverride>"
            + (f"<CustomerOverrideValidTill>{valid_till}</CustomerOverrideValidTill>" if overridden else "")
            + "</Certificate>"
        )

    def _cloudformation_DescribeStacks(self, _caller: Caller, params: dict[str, Any]) -> tuple[int, bytes]:
        arn = params.get("StackName", "")
        status = self.stack_status(arn)
        if status is None:
            return self._error_body(
                "cloudformation", 400, "ValidationError", f"Stack with id {arn} does not exist"
            )
        name = arn.split("/")[1] if arn.count("/") >= 2 else arn
        result = (
            f"<Stacks><member><StackId>{escape(arn)}</StackId><StackName>{escape(name)}</StackName>"
            f"<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>{status}</StackStatus>"
            "</member></Stacks>"
        )
        return 200, self._query_body(
            "DescribeStacks", result, "http://cloudformation.amazonaws.com/doc/2010-05-15/"
        )

    # --- answers -------------------------------------------------------------------------------------
    def _request_id(self) -> str:
        self._ids += 1
        return f"00000000-0000-4000-8000-{self._ids:012d}"

    def _query_body(self, operation: str, result: str, namespace: str) -> bytes:
        return (
            f'<{operation}Response xmlns="{namespace}"><{operation}Result>{result}</{operation}Result>'
            f"<ResponseMetadata><RequestId>{self._request_id()}</RequestId></ResponseMetadata>"
            f"</{operation}Response>"
        ).encode()

    def _error_body(self, service: str, status: int, code: str, message: str) -> tuple[int, bytes]:
        if service == "ssm":
            return status, json.dumps({"__type": code, "message": message}).encode()
        return status, (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}"
            f"</Message></Error><RequestId>{self._request_id()}</RequestId></ErrorResponse>"
        ).encode()

    def _error(self, service: str, status: int, code: str, message: str) -> AWSResponse:
        return _response("", *self._error_body(service, status, code, message), service)


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self._body


def _response(url: str, status: int, body: bytes, service: str) -> AWSResponse:
    content_type = "application/x-amz-json-1.1" if service == "ssm" else "text/xml"
    headers = HTTPHeaders()
    headers["Content-Type"], headers["Content-Length"] = content_type, str(len(body))
    return AWSResponse(url, status, headers, _Body(body))


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name, b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def _service(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0]


def _params(request: Any, service: str) -> dict[str, Any]:
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    if service == "ssm":
        return dict(json.loads(body or b"{}"))
    return {key: values[0] for key, values in parse_qs(body.decode()).items()}


def _state(value: str) -> str:
    try:
        return str(json.loads(value).get("State", "?"))
    except ValueError:
        return "?"


def _brief(params: dict[str, Any]) -> str:
    shown = {
        k: v
        for k, v in params.items()
        if k in ("Name", "NextToken", "CertificateIdentifier", "RemoveCustomerOverride", "Names")
    }
    if "Value" in params:
        shown["State"] = _state(params["Value"])
        if "ExpiresAt" in params["Value"] or "Free" in params["Value"]:
            shown["Lock"] = params["Value"][-40:]
    if "Overwrite" in params:
        shown["Overwrite"] = params["Overwrite"]
    return json.dumps(shown, separators=(",", ":")) if shown else ""


def _brief_answer(body: bytes) -> str:
    text = body.decode(errors="replace")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text[:80]
        if "__type" in data:
            return str(data["__type"])
        if "Parameters" in data:
            names = ["/".join(p["Name"].rsplit("/", 2)[-2:]) for p in data["Parameters"]]
            return f"{names} next={data.get('NextToken', '')!r}"
        return text[:80]
    match = re.search(
        r"<Code>(\w+)</Code>|<DefaultCertificateForNewLaunches>([\w-]+)<|<StackStatus>(\w+)<", text
    )
    return next((g for g in match.groups() if g), "") if match else ""
