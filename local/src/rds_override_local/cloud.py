"""CloudFormation, RDS and the function, all on this machine: what the demo, the end-to-end tests and the
bench drive.

The RDS certificate emulator runs on moto's server (127.0.0.1), a local HTTPS server stands in for the
presigned S3 ResponseURL, and every request runs the function's code in a fresh Python process, as a Lambda
cold start would.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from . import rds_emulator, settings
from .cloudformation import CloudFormation, FreshProcessFunction, ResponseServer


class LocalCloud(CloudFormation):
    """A ``CloudFormation`` whose function runs in fresh processes against the RDS emulator's endpoint."""

    function: FreshProcessFunction

    def __init__(self, function: FreshProcessFunction, *, rds_endpoint: str, region: str) -> None:
        super().__init__(function)
        self.rds_endpoint = rds_endpoint
        self.region = region
        self._clients: dict[str, Any] = {}

    @property
    def server(self) -> ResponseServer:
        """Where the function answers: every attempt and answer it received."""
        return self.function.server

    def client(self, service: str, region: str | None = None) -> Any:
        """A client of the emulator (one per service and region, made once)."""
        key = f"{service}/{region or self.region}"
        if key not in self._clients:
            self._clients[key] = boto3.client(
                service,  # type: ignore[call-overload]
                region_name=region or self.region,
                endpoint_url=self.rds_endpoint,
                aws_access_key_id=settings.DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=settings.DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[key]

    def rds(self, region: str | None = None) -> Any:
        """RDS, as "another team" would use it."""
        return self.client("rds", region)

    def stack(self, name: str, *, logical_id: str = settings.LOGICAL_ID) -> CloudFormation:
        """A new stack in the emulator's CloudFormation (so the function can tell it is live), and its
        resource `logical_id`'s requests to the same function."""
        stack_id = create_stack(self.client("cloudformation"), name)
        return CloudFormation(self.function, stack_id=stack_id, logical_id=logical_id)

    def delete_stack(self, stack: CloudFormation) -> None:
        """The stack is gone (after its resources' Delete requests, or with a resource retained)."""
        self.client("cloudformation").delete_stack(StackName=stack.stack_id)

    def default_for_new_launches(self, region: str | None = None) -> str:
        return str(self.rds(region).describe_certificates()["DefaultCertificateForNewLaunches"])


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


def function_environment(moto_endpoint: str, *, region: str, log_level: str) -> dict[str, str]:
    """The function's environment as template.yaml sets it, every AWS call it makes sent to moto's server
    (AWS_ENDPOINT_URL covers every service, so none can reach AWS)."""
    return {
        **settings.DUMMY_CREDENTIALS,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "POWERTOOLS_SERVICE_NAME": settings.SERVICE_NAME,
        "POWERTOOLS_LOG_LEVEL": log_level,
    }


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
            env=function_environment(endpoint, region=region, log_level=log_level),
            python=python,
        )
        yield LocalCloud(function, rds_endpoint=endpoint, region=region)
