"""Printing a latency run (`bench/latency.py`): rows, stages, and issue #18's targets.

Row figures are POST → succeeded wall times (`timings["total"]`, ms); stage figures are
the jobs' own timings, and `other` is the part of the wall time no stage covers.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.cpu_budget import CpuBudget
from jobs.state import JobState
from jobs.timings import STAGES


class Run(Protocol):
    """What a latency run measured (`bench.latency.Measured`)."""

    baseline: dict[str, list[JobState]]
    baseline_rate: float | None
    fresh: dict[str, list[JobState]]
    again: dict[str, list[JobState]]
    again_warmup: dict[str, JobState]
    new_media: dict[str, int]
    calls: dict[str, str]
    rate_1: float
    rate_2: float
    cpu_1: CpuBudget | None
    cpu_2: CpuBudget | None
    machine_scaling: float
    floor_ms: float


@dataclass(frozen=True)
class Targets:
    """Issue #18's "done when", in the units printed."""

    pdf_p50_ms: float
    render_over_floor: float
    reexport_p50_ms: float
    two_workers: float


def p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def totals(states: Sequence[JobState]) -> list[float]:
    return [s.timings["total"] for s in states]


def render_p50(run: Run) -> float:
    """The fresh PDFs' render stage, p50 ms."""
    return p([s.timings.get("render", 0.0) for s in run.fresh["pdf"]], 0.5)


def commit(root: Path) -> str:
    """The checkout's short commit, `+changes` when tracked files differ from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root).returncode != 0
    return f"{head}+changes" if dirty else head


# -- rows ----------------------------------------------------------------------------------


def print_rows(run: Run, baseline_ref: str) -> None:
    print("POST → succeeded (ms)                        p50      p90")
    for kind in run.fresh:
        base = run.baseline.get(kind)
        base_p50 = p(totals(base), 0.5) if base else None
        if base:
            _row(f"{kind} baseline {baseline_ref}", base)
        _row(f"{kind} ours, fresh render", run.fresh[kind], base_p50)
        _row(f"{kind} ours, re-export (reused)", run.again[kind], base_p50)


def _row(name: str, states: Sequence[JobState], base_p50: float | None = None) -> None:
    values = totals(states)
    ratio = f"   {p(values, 0.5) / base_p50:5.2f}× baseline" if base_p50 else ""
    print(f"  {name:<38} {p(values, 0.5):7.1f}  {p(values, 0.9):7.1f}{ratio}")


def print_stages(run: Run) -> None:
    print("stages p50/p90 (ms)")
    rows = [(f"{k} baseline", v) for k, v in run.baseline.items()]
    rows += [(f"{k} fresh", v) for k, v in run.fresh.items()]
    rows += [(f"{k} reused", v) for k, v in run.again.items()]
    for name, states in rows:
        print(f"  {name:<16} {stage_figures(states)}")


def stage_figures(states: Sequence[JobState]) -> str:
    stages = [k for k in STAGES if any(k in s.timings for s in states)]
    if not stages:
        return "(no stage timings)"
    columns = {k: [s.timings.get(k, 0.0) for s in states] for k in stages}
    columns["other"] = [
        s.timings["total"] - sum(s.timings.get(k, 0.0) for k in stages) for s in states
    ]
    return "  ".join(f"{k} {p(v, 0.5):.0f}/{p(v, 0.9):.0f}" for k, v in columns.items())


def print_payload_calls(run: Run) -> None:
    print("Payload calls per export, web + worker (ms in all: method route calls×mean ms)")
    for row, figures in run.calls.items():
        print(f"  {row:<16} {figures}")


def print_floor_and_bursts(run: Run, burst: int) -> None:
    render = render_p50(run)
    print(
        f"pdf render stage p50 {render:.0f} ms; warm in-process render of the same brief "
        f"(just before and after that row) {run.floor_ms:.0f} ms"
    )
    base = f"baseline 1 worker {run.baseline_rate:.2f}; " if run.baseline_rate else ""
    vs_base = f" ({run.rate_1 / run.baseline_rate:.2f}× baseline)" if run.baseline_rate else ""
    print(
        f"burst of {burst} PDFs, back to back (jobs/s): {base}ours 1 worker "
        f"{run.rate_1:.2f}{vs_base}, 2 workers {run.rate_2:.2f}"
    )
    if run.cpu_1 is not None:
        print(f"  {run.cpu_1.line(run.rate_1)}")
        if run.cpu_2 is not None:
            print(f"  {run.cpu_2.line_beside(run.cpu_1, run.rate_2, workers=2)}")
    print(
        f"  this machine, now: 2 processes running a CPU-bound loop get "
        f"{run.machine_scaling:.2f}× the work of one"
    )


# -- targets -------------------------------------------------------------------------------


def print_targets(run: Run, targets: Targets) -> bool:
    """Each target beside its figure; returns whether the correctness checks held."""
    print("issue #18 targets")
    pdf = p(totals(run.fresh["pdf"]), 0.5)
    _target(
        f"10-section PDF POST → succeeded p50 ≤ {targets.pdf_p50_ms:.0f} ms",
        f"{pdf:.0f} ms",
        pdf <= targets.pdf_p50_ms,
    )
    render = render_p50(run) / run.floor_ms
    _target(
        f"render stage ≤ {targets.render_over_floor}× warm in-process render",
        f"{render:.2f}×",
        render <= targets.render_over_floor,
    )
    for kind, states in run.again.items():
        again = p(totals(states), 0.5)
        _target(
            f"{kind} re-export p50 ≤ {targets.reexport_p50_ms:.0f} ms",
            f"{again:.0f} ms",
            again <= targets.reexport_p50_ms,
        )
    new_media = sum(run.new_media.values())
    _target("no new Media during re-exports", f"{new_media} new", new_media == 0)
    speedup = run.rate_2 / run.rate_1
    _target(
        f"2 workers ≥ {targets.two_workers}× jobs/s of 1",
        f"{speedup:.2f}×",
        speedup >= targets.two_workers,
    )
    if run.cpu_1 is not None and run.cpu_2 is not None:
        print(f"    {_cores_needed(run.cpu_1, run.cpu_2, run.rate_1, targets.two_workers)}")
    return print_correctness(run)


def _cores_needed(one: CpuBudget, two: CpuBudget, rate_1: float, speedup: float) -> str:
    """jobs/s = cores busy / CPU per export, so a speedup needs this many cores busy."""
    busy_1 = rate_1 * one.total_ms / 1000
    inflation = two.total_ms / one.total_ms
    return (
        f"{speedup}× needs {speedup * busy_1 * inflation:.2f} cores busy with 2 workers: "
        f"1 worker kept {busy_1:.2f} busy (web, Payload, Redis beside it), and an export "
        f"took {inflation:.2f}× the CPU with 2"
    )


def _target(name: str, figure: str, met: bool) -> None:
    print(f"  {name:<50} {figure:>10}  {'met' if met else 'MISSED'}")


def print_correctness(run: Run) -> bool:
    """Every re-export (the warm-up too) reused, and no new Media; says which kind did not."""
    ok = True
    for kind, states in run.again.items():
        every = [run.again_warmup[kind], *states]
        reused = sum(s.reused for s in every)
        if reused < len(every) or run.new_media[kind]:
            ok = False
            print(
                f"  FAILED: {kind} re-exports reused {reused} of {len(every)} (warm-up "
                f"{'reused' if run.again_warmup[kind].reused else 'rendered again'}); "
                f"{run.new_media[kind]} new Media"
            )
    counted = sum(len(states) + 1 for states in run.again.values())
    print(
        f"correctness: every export succeeded; {counted} re-exports checked for reuse and "
        f"new Media: {'ok' if ok else 'FAILED'}"
    )
    return ok
