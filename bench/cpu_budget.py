"""CPU per export, by process, over a burst: what bounds jobs/s on this machine.

    with CpuBudget.over({"worker": [pid], "payload": [pid]}, exports=20) as budget:
        ...  # the burst
    print(budget.line(jobs_per_s))

A process's CPU is its own user + system time with that of its children, living (Payload
under npm) and reaped (every work horse a worker forked); this process's own time is
`bench` (the stub Payload, when there is one, runs in it). The sum per export bounds the
machine: `cores` busy seconds a second, so at most cores / (CPU-s per export) exports a
second, whatever the number of workers. `machine_scaling()` is the other bound: how much
more a CPU-bound task gets done by two processes than one, on this machine, now (a VM's
cores are not always two whole cores).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil


@dataclass
class CpuBudget:
    exports: int
    ms_per_export: dict[str, float] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def over(cls, groups: Mapping[str, Sequence[int]], exports: int) -> Iterator[CpuBudget]:
        budget = cls(exports)
        before = {name: _cpu_s(pids) for name, pids in groups.items()}
        before["bench"] = _own_cpu_s()
        yield budget
        after = {name: _cpu_s(pids) for name, pids in groups.items()}
        after["bench"] = _own_cpu_s()
        budget.ms_per_export = {
            name: (after[name] - before[name]) * 1000 / exports for name in before
        }

    @property
    def total_ms(self) -> float:
        return sum(self.ms_per_export.values())

    def ceiling(self, cores: int) -> float:
        """Exports a second `cores` can run at this CPU per export."""
        return cores * 1000 / self.total_ms if self.total_ms else 0.0

    def line(self, jobs_per_s: float, cores: int | None = None) -> str:
        cores = cores or os.cpu_count() or 1
        ceiling = self.ceiling(cores)
        return (
            f"CPU per export in the 1-worker burst (ms): {self._parts()}; "
            f"{cores} cores run at most {ceiling:.2f} exports/s, "
            f"{ceiling / jobs_per_s:.2f}× the 1-worker burst's {jobs_per_s:.2f}/s"
        )

    def line_beside(self, one_worker: CpuBudget, jobs_per_s: float, workers: int) -> str:
        """This burst's CPU per export beside the 1-worker burst's, and the cores it kept
        busy: where more workers' jobs/s went when it is short of the ceiling."""
        cores = os.cpu_count() or 1
        busy = jobs_per_s * self.total_ms / 1000
        return (
            f"CPU per export in the {workers}-worker burst (ms): {self._parts()} "
            f"({self.total_ms / one_worker.total_ms:.2f}× the 1-worker burst's); "
            f"{busy:.2f} of {cores} cores busy"
        )

    def _parts(self) -> str:
        parts = " · ".join(f"{name} {ms:.0f}" for name, ms in self.ms_per_export.items())
        return f"{parts} = {self.total_ms:.0f}"


def _cpu_s(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def machine_scaling(rounds: int = 3) -> float:
    """Throughput of 2 processes running a CPU-bound loop at once, over 1 alone (median)."""
    ratios = []
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for _ in range(rounds):
            alone = _spin(SPIN_ROUNDS)
            started = time.perf_counter()
            pool.map(_spin, [SPIN_ROUNDS, SPIN_ROUNDS])
            ratios.append(2 * alone / (time.perf_counter() - started))
    return statistics.median(ratios)


#: About half a second of hashing on this machine.
SPIN_ROUNDS = 300_000


def _spin(rounds: int) -> float:
    started = time.perf_counter()
    data = b"x" * 1024
    for _ in range(rounds):
        data = hashlib.sha256(data).digest() * 32
    return time.perf_counter() - started
