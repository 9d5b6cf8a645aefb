"""Many schedules, in worker processes: each seed's result depends only on the seed, not on the worker."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from .world import prepare, quiet, run_schedule

CHUNK = 20


@dataclass(frozen=True)
class Verdict:
    """One schedule's result, small enough to send between processes."""

    seed: int
    invariants: tuple[str, ...]
    classes: tuple[int, ...]
    first: str
    crashed: bool

    @property
    def failed(self) -> bool:
        return bool(self.invariants or self.crashed)


def judge(seed: int, *, storm: bool = False) -> Verdict:
    outcome = run_schedule(seed, storm=storm)
    first = str(outcome.violations[0]) if outcome.violations else ""
    if outcome.crashes:
        name, error = outcome.crashes[0]
        first = first or f"crash in {name}: {type(error).__name__}: {error}"
    return Verdict(
        seed,
        tuple(sorted({v.invariant for v in outcome.violations})),
        tuple(sorted(outcome.classes)),
        first,
        bool(outcome.crashes),
    )


def _chunk(seeds: range, storm: bool = False) -> list[Verdict]:
    with quiet():
        return [judge(seed, storm=storm) for seed in seeds]


def default_jobs() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 4))


def run_many(start: int, count: int, *, seconds: float, jobs: int, storm: bool = False) -> Iterator[Verdict]:
    """Verdicts of seeds start..start+count-1 (in no fixed order), until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    chunks = [range(s, min(s + CHUNK, start + count)) for s in range(start, start + count, CHUNK)]
    if jobs <= 1:
        prepare()
        for seeds in chunks:
            if time.monotonic() > deadline:
                return
            yield from _chunk(seeds, storm)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=prepare) as pool:
        pending: set[Future[list[Verdict]]] = set()
        queue = iter(chunks)
        while True:
            while len(pending) < jobs * 2 and time.monotonic() < deadline:
                chunk = next(queue, None)
                if chunk is None:
                    break
                pending.add(pool.submit(_chunk, chunk, storm))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from future.result()
