"""A deterministic scheduler: real threads, one running at a time, virtual time, a seeded choice of who runs.

Every task is a Python thread, but only one holds the baton. A task gives it back at each scheduling point
(`point`, `sleep`); the scheduler then picks, with its seeded `random.Random`, among the runnable tasks and
the virtual-time events that are due. Time moves only when nobody can run (it jumps to the next wake-up) or
when a task sleeps (a call's cost is a sleep). Given the seed, the same steps happen in the same order.
"""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_THREAD = threading.local()


def running() -> tuple[Scheduler, Task] | None:
    """The scheduler and task of the calling thread, or None outside the explorer's tasks."""
    return getattr(_THREAD, "task", None)


class Killed(BaseException):
    """Raised in a task whose process Lambda stopped: it unwinds, and no further call reaches the model.
    A BaseException, so that neither the function's nor botocore's `except Exception` absorbs it."""


class Deadlock(RuntimeError):
    """The scheduler found nothing to run while tasks still wait: a bug in the harness, never the product."""


@dataclass
class Task:
    name: str
    fn: Callable[[], None]
    group: Any = None
    """What the task belongs to (a Lambda instance): killing the group kills its tasks."""
    state: str = "new"  # new, runnable, sleeping, done
    wake_at: float = 0.0
    killed: bool = False
    thread: threading.Thread | None = None
    go: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))


@dataclass(order=True)
class _Timed:
    at: float
    seq: int
    name: str = field(compare=False)
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    def __init__(self, seed: int, *, start: float, max_steps: int = 200_000) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a schedule, not a secret  # nosec B311
        self.now = start
        self.max_steps = max_steps
        self.steps: list[tuple[float, str, str]] = []
        self._tasks: list[Task] = []
        self._timed: list[_Timed] = []
        self._seq = 0
        self._back = threading.Semaphore(0)
        self._fatal: BaseException | None = None
        self.crashes: list[tuple[str, BaseException]] = []

    # --- used by the harness -------------------------------------------------------------------------
    def log(self, who: str, what: str) -> None:
        self.steps.append((self.now, who, what))

    def spawn(self, name: str, fn: Callable[[], None], *, group: Any = None) -> Task:
        task = Task(name, fn, group)
        task.state = "runnable"
        self._tasks.append(task)
        self.log(name, "starts")
        return task

    def at(self, when: float, name: str, action: Callable[[], None]) -> _Timed:
        """A virtual-time event: `action` runs in the scheduler (not in a task) once `when` has come and the
        seed picks it."""
        self._seq += 1
        timed = _Timed(max(when, self.now), self._seq, name, action)
        heapq.heappush(self._timed, timed)
        return timed

    def kill(self, group: Any) -> None:
        for task in self._tasks:
            if task.group is group and task.state != "done":
                task.killed = True
                if task.state == "sleeping":
                    task.state = "runnable"  # it wakes only to unwind

    def current(self) -> Task | None:
        mine = running()
        return mine[1] if mine is not None and mine[0] is self else None

    def run(self) -> None:
        """Run until no task and no event is left. The baton passes from task to task directly (the one
        that yields picks the next): one thread switch per scheduling point."""
        self._dispatch(None)
        self._back.acquire()
        if self._fatal is not None:
            raise self._fatal

    def _dispatch(self, me: Task | None) -> bool:
        """Pick and start what runs next. True when it is `me` (the caller just goes on)."""
        while True:
            if len(self.steps) > self.max_steps:
                return self._finish(Deadlock(f"more than {self.max_steps} steps: a livelock in the schedule"))
            self._wake_sleepers()
            runnable = [t for t in self._tasks if t.state == "runnable"]
            due = [t for t in self._timed if t.at <= self.now and not t.cancelled]
            if not runnable and not due:
                nxt = self._next_wake()
                if nxt is None:
                    if any(t.state != "done" for t in self._tasks):
                        return self._finish(Deadlock("tasks wait but nothing can wake them"))
                    return self._finish(None)
                self.now = nxt
                continue
            due.sort()
            pick = self.rng.randrange(len(runnable) + len(due))
            if pick < len(runnable):
                task = runnable[pick]
                self._tasks = [t for t in self._tasks if t.state != "done"]
                if task is me:
                    return True
                if task.thread is None:
                    task.thread = threading.Thread(
                        target=self._body, args=(task,), name=task.name, daemon=True
                    )
                    task.thread.start()
                else:
                    task.go.release()
                return False
            timed = due[pick - len(runnable)]
            self._timed.remove(timed)
            heapq.heapify(self._timed)
            self.log("world", timed.name)
            try:
                timed.action()
            except Exception as error:
                return self._finish(error)

    def _finish(self, fatal: BaseException | None) -> bool:
        self._fatal = fatal
        self._back.release()
        return False

    def _wake_sleepers(self) -> None:
        for task in self._tasks:
            if task.state == "sleeping" and task.wake_at <= self.now:
                task.state = "runnable"

    def _next_wake(self) -> float | None:
        times = [t.wake_at for t in self._tasks if t.state == "sleeping"]
        while self._timed and self._timed[0].cancelled:
            heapq.heappop(self._timed)
        times += [self._timed[0].at] if self._timed else []
        return min(times, default=None)

    def _body(self, task: Task) -> None:
        _THREAD.task = (self, task)
        try:
            if not task.killed:
                task.fn()
        except Killed:
            self.log(task.name, "stopped by Lambda")
        except BaseException as error:
            self.log(task.name, f"crashed: {type(error).__name__}: {error}")
            self.crashes.append((task.name, error))
        finally:
            task.state = "done"
            self._dispatch(None)

    # --- used inside tasks ---------------------------------------------------------------------------
    def point(self, what: str) -> None:
        """A scheduling point: log it, give the baton back, wait to be picked again."""
        task = self._me()
        self.log(task.name, what)
        task.state = "runnable"
        self._yield(task)

    def sleep(self, seconds: float, what: str = "sleeps") -> None:
        task = self._me()
        seconds = max(float(seconds), 0.0)
        self.log(task.name, f"{what} {seconds:.3f}s")
        task.state = "sleeping"
        task.wake_at = self.now + seconds
        self._yield(task)

    def check_alive(self) -> None:
        task = self.current()
        if task is not None and task.killed:
            raise Killed

    def _me(self) -> Task:
        task = self.current()
        if task is None:
            raise RuntimeError("a scheduling point outside a task")
        if task.killed:
            raise Killed
        return task

    def _yield(self, task: Task) -> None:
        if not self._dispatch(task):
            task.go.acquire()
        if task.killed:
            raise Killed
