"""CloudFormation, RDS and the function, all on this machine: what the demo, the end-to-end tests and the
bench drive.

The RDS certificate emulator runs on moto's server (127.0.0.1), a local HTTPS server stands in for the
presigned S3 ResponseURL, and every request runs the function's code in a fresh Python process, as a Lambda
cold start would.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from . import rds_emulator, settings
from .cloudformation import CloudFormation, FreshProcessFunction, ResponseServer


@dataclass(frozen=True)
class DefaultCA:
    """A region's default CA for new DB instances, as DescribeCertificates tells it."""

    certificate: str
    """``DefaultCertificateForNewLaunches``."""
    overridden: bool
    """Whether it is a customer override rather than the RDS system default."""

    def __str__(self) -> str:
        return f"{self.certificate} ({'override' if self.overridden else 'system default'})"


class LocalCloud:
    """The RDS emulator's endpoint, the function (in fresh processes) and the stacks that send it requests."""

    def __init__(self, function: FreshProcessFunction, *, rds_endpoint: str, region: str) -> None:
        self.function = function
        self.rds_endpoint = rds_endpoint
        self.region = region
        self.demo_stack = CloudFormation(function)
        """The requests of the demo's stack (settings.STACK_ID), which the emulator's CloudFormation does not
        hold; ``stack()`` makes one it holds."""
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def server(self) -> ResponseServer:
        """Where the function answers: every attempt and answer it received."""
        return self.function.server

    def client(
        self, service: str, region: str | None = None, *, credentials: Mapping[str, str] | None = None
    ) -> Any:
        """A client of the emulator (one per service, region and credentials, made once): with the dummy
        credentials of the default account, or ``credentials`` (``AWS_ACCESS_KEY_ID``,
        ``AWS_SECRET_ACCESS_KEY`` and, when given, ``AWS_SESSION_TOKEN``) of another one."""
        keys = credentials or settings.DUMMY_CREDENTIALS
        key = (service, region or self.region, keys["AWS_ACCESS_KEY_ID"])
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = boto3.client(
                    service,  # type: ignore[call-overload]
                    region_name=key[1],
                    endpoint_url=self.rds_endpoint,
                    aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=keys.get("AWS_SESSION_TOKEN"),
                )
            return self._clients[key]

    def rds(self, region: str | None = None) -> Any:
        """RDS, as "another team" would use it."""
        return self.client("rds", region)

    def default_ca(self, region: str | None = None) -> DefaultCA:
        """The region's default CA for new DB instances, and whether it is an override."""
        answer = self.rds(region).describe_certificates()
        return DefaultCA(
            certificate=str(answer["DefaultCertificateForNewLaunches"]),
            overridden=any(certificate.get("CustomerOverride") for certificate in answer["Certificates"]),
        )

    def rds_calls(self) -> list[rds_emulator.RDSCall]:
        """The RDS calls the last request made, every HTTP attempt (so retries count)."""
        return rds_emulator.calls()

    def stack(self, name: str, *, logical_id: str = settings.LOGICAL_ID) -> CloudFormation:
        """A new stack in the emulator's CloudFormation (so the function can tell it is live), and its
        resource `logical_id`'s requests to the same function."""
        stack_id = create_stack(self.client("cloudformation"), name)
        return CloudFormation(self.function, stack_id=stack_id, logical_id=logical_id)

    def delete_stack(self, stack: CloudFormation) -> None:
        """The stack is gone (after its resources' Delete requests, or with a resource retained)."""
        self.client("cloudformation").delete_stack(StackName=stack.stack_id)


# A stack needs one resource: one that moto models (it warns about those it does not) and nothing reads.
_STAND_IN_STACK_TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def create_stack(cloudformation: Any, name: str) -> str:
    """A stack in the emulator's CloudFormation, made with `cloudformation` (a client, of any account and
    region), standing in for a stack that declares overrides: the function and `status` can tell whether
    it is live. Its StackId is what its resources' requests carry."""
    stack_id: str = cloudformation.create_stack(StackName=name, TemplateBody=_STAND_IN_STACK_TEMPLATE)[
        "StackId"
    ]
    return stack_id


@contextmanager
def emulator_server() -> Iterator[str]:
    """moto's server on loopback with the RDS emulator installed, in this process, from a clean state: its
    endpoint URL."""
    rds_emulator.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto keeps its state in this process: start from a clean one (moto's own reset API).
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - http, loopback
        urllib.request.urlopen(reset).close()  # noqa: S310 - our own server on loopback
        yield endpoint
    finally:
        moto.stop()


@contextmanager
def local_cloud(
    code_dirs: Sequence[str],
    *,
    python: str | None = None,
    region: str = settings.REGION,
    log_level: str = "INFO",
) -> Iterator[LocalCloud]:
    """The emulator on moto's server and the ResponseURL server, both on loopback, for one test or demo."""
    with ExitStack() as stack:
        endpoint = stack.enter_context(emulator_server())
        server = stack.enter_context(ResponseServer(region=region))
        function = FreshProcessFunction(
            server,
            list(code_dirs),
            # The function's settings as template.yaml makes them; AWS_ENDPOINT_URL sends every AWS call
            # it makes (every service) to moto's server, so none can reach AWS.
            env={
                **settings.DUMMY_CREDENTIALS,
                "AWS_REGION": region,
                "AWS_ENDPOINT_URL": endpoint,
                "POWERTOOLS_SERVICE_NAME": settings.SERVICE_NAME,
                "POWERTOOLS_LOG_LEVEL": log_level,
            },
            python=python,
        )
        yield LocalCloud(function, rds_endpoint=endpoint, region=region)
