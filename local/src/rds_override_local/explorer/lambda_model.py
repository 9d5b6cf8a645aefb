"""Lambda as the explorer runs it: each instance its own copy of the function's modules, time virtual.

An instance is a fresh import of the function's code (its module-level `helper`, cached clients and
session are its own), reached only through stable seams: `index.handler`, the boto3 session's
`before-send` event, `cfn_resource.put_response`, the clocks (`index.clock`, `cfn_resource`'s `time` and
`threading.Timer`) and botocore's backoff sleep. Lambda stops an instance at its deadline (the instance's
tasks unwind and make no further call) and retries a timed-out event, up to twice, on a fresh instance.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore
import botocore.client
import botocore.endpoint
import botocore.errorfactory
import botocore.loaders
import botocore.useragent

from rds_override_local import settings

from .scheduler import Killed, Scheduler, running


def _function_modules() -> tuple[str, ...]:
    """Every module of the function (lambda/): its top-level modules and its packages' modules. Read from
    the folder, so that a module added to the function is fresh in every instance too."""
    folder = settings.REPOSITORY / "lambda"
    names = [path.stem for path in folder.glob("*.py")]
    for package in sorted(p.parent for p in folder.glob("*/__init__.py")):
        names += [
            package.name,
            *(f"{package.name}.{m.stem}" for m in package.glob("*.py") if m.stem != "__init__"),
        ]
    return tuple(sorted(names))


FUNCTION_MODULES = _function_modules()
FUNCTION_NAME = "rds-certificate-override"
MEMORY_MB = 256
RETRY_ATTEMPTS = 2
MAXIMUM_EVENT_AGE_SECONDS = 3600
# Shared by every instance's session: the SDK's service models are read, and the client classes and
# their exception classes built, once per process instead of at every cold start. Clients stay per instance.
_LOADER = botocore.loaders.create_loader()
_EXCEPTIONS = botocore.errorfactory.ClientExceptionsFactory()
_CLIENT_CLASSES: dict[tuple[str, str], type] = {}
_SERVICE_MODELS: dict[tuple[str, str], Any] = {}


class _CompiledOnce(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the function's modules where Python would, but compiles each once: every cold start runs
    the module bodies afresh from the same code objects (PYTHONDONTWRITEBYTECODE leaves no .pyc)."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec] = {}
        self._code: dict[str, types.CodeType] = {}

    def find_spec(
        self, name: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in FUNCTION_MODULES:
            return None
        if name not in self._specs:
            for finder in sys.meta_path:
                if finder is not self and (found := finder.find_spec(name, path, target)) is not None:
                    self._specs[name] = found
                    break
            else:
                return None
        real = self._specs[name]
        spec = importlib.machinery.ModuleSpec(
            name, self, origin=real.origin, is_package=real.submodule_search_locations is not None
        )
        spec.submodule_search_locations = real.submodule_search_locations
        spec.has_location = real.has_location
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        if name not in self._code:
            loader = self._specs[name].loader
            self._code[name] = loader.get_code(name)  # type: ignore[union-attr]
        exec(self._code[name], module.__dict__)  # noqa: S102 - the function's own code  # nosec B102


_COMPILED_ONCE = _CompiledOnce()


def load_function() -> dict[str, Any]:
    """A fresh copy of the function's modules, as a new Lambda process imports them. The modules that
    were imported before (by other tests) are put back: this copy lives only in the instance."""
    saved = {name: sys.modules.pop(name) for name in FUNCTION_MODULES if name in sys.modules}
    sys.meta_path.insert(0, _COMPILED_ONCE)
    try:
        importlib.import_module("index")
        return {name: sys.modules[name] for name in FUNCTION_MODULES if name in sys.modules}
    finally:
        sys.meta_path.remove(_COMPILED_ONCE)
        for name in FUNCTION_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


class _BackoffTime:
    """botocore.endpoint's `time`: its retry backoff sleeps in virtual time inside the explorer's tasks."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        mine = running()
        if mine is None:
            time.sleep(seconds)
        else:
            mine[0].sleep(seconds, "SDK backoff")


def install_sdk_patches() -> Callable[[], None]:
    """botocore's backoff sleeps in virtual time; the User-Agent header, which nobody reads here and which
    botocore rebuilds for every attempt, is a constant; service models and client classes are built once
    per process. None of it touches retries, errors or parsing. Returns what undoes it."""
    creator: Any = botocore.client.ClientCreator
    user_agent: Any = botocore.useragent.UserAgentString
    endpoint: Any = botocore.endpoint
    saved = (endpoint.time, user_agent.to_string, creator._create_client_class, creator._load_service_model)
    create_class, load_model = saved[2], saved[3]

    def shared_class(self: Any, service_name: str, service_model: Any) -> type:
        key = (service_name, service_model.api_version)
        if key not in _CLIENT_CLASSES:
            _CLIENT_CLASSES[key] = create_class(self, service_name, service_model)
        return _CLIENT_CLASSES[key]

    def shared_model(self: Any, service_name: str, api_version: Any = None) -> Any:
        key = (service_name, str(api_version))
        if key not in _SERVICE_MODELS:
            _SERVICE_MODELS[key] = load_model(self, service_name, api_version)
        return _SERVICE_MODELS[key]

    endpoint.time = _BackoffTime()
    user_agent.to_string = lambda _self: "explorer"
    creator._create_client_class = shared_class
    creator._load_service_model = shared_model

    def undo() -> None:
        endpoint.time, user_agent.to_string = saved[0], saved[1]
        creator._create_client_class, creator._load_service_model = create_class, load_model

    return undo


def _unsigned(**_kwargs: Any) -> Any:
    """The model checks no signature: skip SigV4 (the costliest step of a call), as a test double may."""
    return botocore.UNSIGNED


@dataclass
class Delivery:
    """One invocation of the function for one CloudFormation request."""

    name: str
    request_id: str
    event: dict[str, Any]
    attempt: int
    instance: Instance | None = None
    killed: bool = False


class _Context:
    def __init__(self, scheduler: Scheduler, deadline: float, aws_request_id: str, region: str) -> None:
        self._scheduler, self._deadline = scheduler, deadline
        self.function_name = FUNCTION_NAME
        self.memory_limit_in_mb = MEMORY_MB
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{FUNCTION_NAME}"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - self._scheduler.now) * 1000), 0)


class _VirtualClock:
    """ledger.Clock in virtual time: `index.clock`."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def time(self) -> float:
        return self._scheduler.now

    def sleep(self, seconds: float) -> None:
        self._scheduler.sleep(seconds, "waits for the lock")


class Instance:
    def __init__(self, service: LambdaService, number: int) -> None:
        self.service = service
        self.name = f"i{number}"
        self.busy = False
        self.dead = False
        self.timers: list[Any] = []
        self.current: Delivery | None = None
        scheduler = service.scheduler
        self.modules = modules = load_function()
        modules["index"].clock = _VirtualClock(scheduler)
        modules["cfn_resource"].time = types.SimpleNamespace(
            monotonic=lambda: scheduler.now, time=lambda: scheduler.now, sleep=scheduler.sleep
        )
        modules["cfn_resource"].threading = types.SimpleNamespace(
            Timer=lambda interval, function: _VirtualTimer(self, interval, function), Lock=threading.Lock
        )
        modules["cfn_resource"].put_response = self._put_response
        # The lock's jitter: from the seed, not from the process-wide random.
        modules["ledger"].random = types.SimpleNamespace(random=scheduler.rng.random)
        session = modules["aws_sdk"].session()
        session._session.register_component("data_loader", _LOADER)
        session._session.register_component("exceptions_factory", _EXCEPTIONS)
        session.events.register("before-send", self._before_send)
        session.events.register("choose-signer", _unsigned)

    def _before_send(self, request: Any, event_name: str, **_kwargs: Any) -> Any:
        delivery = self._caller()
        return self.service.aws.answer(delivery, request, event_name.rsplit(".", 1)[-1])

    def _put_response(self, _url: str, body: bytes, *, deadline: float | None = None) -> bool:
        delivery = self._caller()
        return self.service.answered(delivery, body)

    def _caller(self) -> Delivery:
        self.service.scheduler.check_alive()
        if self.dead or self.current is None:
            raise Killed
        return self.current


class _VirtualTimer:
    """threading.Timer for crhelper's timeout answer: fires in virtual time, in a task of its own."""

    def __init__(self, instance: Instance, interval: float, function: Callable[[], None]) -> None:
        self.instance, self.interval, self.function = instance, interval, function
        self.daemon = True
        self._timed: Any = None

    def start(self) -> None:
        scheduler = self.instance.service.scheduler
        name = f"{self.instance.current.name if self.instance.current else self.instance.name}.timer"
        self._timed = scheduler.at(
            scheduler.now + self.interval,
            f"{name} fires",
            lambda: self._fire(name),
        )
        self.instance.timers.append(self._timed)

    def _fire(self, name: str) -> None:
        self.instance.service.scheduler.spawn(name, self.function, group=self.instance)

    def cancel(self) -> None:
        if self._timed is not None:
            self._timed.cancelled = True


@dataclass
class LambdaService:
    scheduler: Scheduler
    aws: Any
    region: str
    timeout: float
    answered: Callable[[Delivery, bytes], bool]
    """CloudFormation's side of the answer PUT."""
    started: Callable[[str], None] = lambda _request_id: None
    """Told when a delivery of a request starts running."""
    instances: list[Instance] = field(default_factory=list)
    deliveries: int = 0
    cold_starts: int = 0

    def deliver(self, event: dict[str, Any], *, attempt: int = 0, sent_at: float) -> None:
        """An async invocation of `event`: runs on an idle warm instance or a new one."""
        sched = self.scheduler
        if sched.now - sent_at > MAXIMUM_EVENT_AGE_SECONDS:
            sched.log("lambda", f"drops {event['RequestType']} {event['RequestId'][-4:]}: too old")
            return
        self.deliveries += 1
        self.started(str(event["RequestId"]))
        delivery = Delivery(
            f"d{self.deliveries}:{event['RequestType']}:{event['StackId'].split('/')[1]}",
            str(event["RequestId"]),
            event,
            attempt,
        )
        idle = [i for i in self.instances if not i.busy and not i.dead]
        # Mostly a warm instance when one is idle, as Lambda does; sometimes a new one all the same.
        cold = not idle or sched.rng.random() < 0.1
        if cold:
            self.cold_starts += 1
            instance = Instance(self, len(self.instances) + 1)
            self.instances.append(instance)
        else:
            instance = sched.rng.choice(idle)
        instance.busy, instance.current, delivery.instance = True, delivery, instance
        deadline = sched.now + self.timeout
        context = _Context(sched, deadline, f"{delivery.name}-{attempt}", self.region)
        stop = sched.at(
            deadline, f"Lambda stops {instance.name} ({delivery.name})", lambda: self._stop(delivery, sent_at)
        )
        handler = instance.modules["index"].handler

        def invoke() -> None:
            handler(event, context)
            stop.cancelled = True
            for timer in instance.timers:
                timer.cancelled = True
            instance.timers.clear()
            instance.busy, instance.current = False, None

        sched.spawn(f"{delivery.name}@{instance.name}", invoke, group=instance)

    def _stop(self, delivery: Delivery, sent_at: float) -> None:
        instance = delivery.instance
        assert instance is not None  # noqa: S101  # nosec B101
        delivery.killed = instance.dead = True
        for timer in instance.timers:
            timer.cancelled = True
        self.scheduler.kill(instance)
        if delivery.attempt < RETRY_ATTEMPTS:
            # Lambda retries a failed async invocation after about one, then two minutes.
            delay = self.scheduler.rng.uniform(30, 150)
            self.scheduler.at(
                self.scheduler.now + delay,
                f"Lambda retries {delivery.name}",
                lambda: self.deliver(delivery.event, attempt=delivery.attempt + 1, sent_at=sent_at),
            )
