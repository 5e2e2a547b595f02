"""The Payload calls the service made, read from its own metrics (PROMETHEUS_MULTIPROC_DIR).

    before = snapshot(metrics_dir)
    ...  # exports
    calls = since(before, metrics_dir)   # {("GET", "/projects/:id"): Calls(count, seconds)}

`export_payload_request_duration_seconds` (jobs/metrics.py) is observed by the web process
and every worker for each REST call and media download, so the difference between two
snapshots is what Payload was asked in between, by method and route.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from jobs.metrics_archive import FoldAwareCollector

METRIC = "export_payload_request_duration_seconds"
Route = tuple[str, str]  # (method, route)


@dataclass(frozen=True)
class Calls:
    count: float
    seconds: float


def snapshot(metrics_dir: Path) -> dict[Route, Calls]:
    registry = CollectorRegistry()
    # Read as /metrics reads it: under the fold lock, so a worker folding a work horse's
    # files into its archive meanwhile (jobs.metrics_archive) is neither missed nor seen twice.
    registry.register(FoldAwareCollector(metrics_dir))
    found: dict[Route, Calls] = {}
    for metric in registry.collect():
        if metric.name != METRIC:
            continue
        for sample in metric.samples:
            route = (sample.labels["method"], sample.labels["route"])
            calls = found.get(route, Calls(0.0, 0.0))
            if sample.name.endswith("_count"):
                found[route] = Calls(calls.count + sample.value, calls.seconds)
            elif sample.name.endswith("_sum"):
                found[route] = Calls(calls.count, calls.seconds + sample.value)
    return found


def since(before: dict[Route, Calls], metrics_dir: Path) -> dict[Route, Calls]:
    """The calls made after `before` was taken (routes with none left out)."""
    now = snapshot(metrics_dir)
    zero = Calls(0.0, 0.0)
    made = {
        route: Calls(calls.count - before.get(route, zero).count,
                     calls.seconds - before.get(route, zero).seconds)
        for route, calls in now.items()
    }  # fmt: skip
    return {route: calls for route, calls in made.items() if calls.count > 0}


def per_export(calls: dict[Route, Calls], exports: int) -> str:
    """`GET /projects/:id 1×14` … : calls per export and their mean ms, slowest total first."""
    ordered = sorted(calls.items(), key=lambda item: -item[1].seconds)
    total = sum(c.seconds for c in calls.values()) * 1000 / exports
    parts = [
        f"{method} {route} {c.count / exports:.1f}×{c.seconds * 1000 / c.count:.0f}"
        for (method, route), c in ordered
    ]
    return f"{total:.0f} ms: " + ", ".join(parts)
