"""The Prometheus metrics the export pipeline records, wherever it runs.

Counted in the process that does the work: submissions in the web process (`jobs.queue`),
exports, sizes and Payload calls in the RQ work horse (`jobs.runner`, via the
`PayloadClient.on_response` hook). The default RQ worker forks a work horse per job, so
figures only survive the horse in prometheus-client's multiprocess mode: with
PROMETHEUS_MULTIPROC_DIR set (before this module is imported), each process writes its
values to files there and `app.metrics` adds them up at scrape time (docs/deploy.md).

    export_jobs_submitted_total{type}                        queued exports
    export_jobs_finished_total{type, outcome}                succeeded | failed | cancelled
    export_job_duration_seconds{type, outcome}               start to outcome
    export_artifact_bytes{type}                              size of each finished file
    export_downloaded_bytes_total / export_uploaded_bytes_total
    export_payload_request_duration_seconds{method, route}   every Payload call
    export_payload_request_errors_total{method, route, reason}
    export_stage_duration_seconds{type, stage}               queued, fetch, reuse, render, …
    export_jobs_reused_total{type}                           results reused, not rendered again
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from cms_client.client import PayloadCall
from jobs.state import ExportType

#: Exports take seconds to an hour (EXPORT_JOB_TIMEOUT_S, 3600 s by default).
DURATION_BUCKETS_S = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
#: From a one-page brief to a 20 GiB bundle (EXPORT_MAX_TOTAL_BYTES).
SIZE_BUCKETS_BYTES = tuple(float(4**n * 1024) for n in range(3, 15))  # 64 KiB … 256 GiB
#: Stages last from milliseconds (a reuse check) to the whole job.
STAGE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
PAYLOAD_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

SUBMITTED = Counter("export_jobs_submitted", "Exports queued", ["type"])
FINISHED = Counter("export_jobs_finished", "Exports that ended, by outcome", ["type", "outcome"])
DURATION = Histogram(
    "export_job_duration_seconds",
    "Wall time of an export on a worker",
    ["type", "outcome"],
    buckets=DURATION_BUCKETS_S,
)
ARTIFACT_BYTES = Histogram(
    "export_artifact_bytes", "Size of finished export files", ["type"], buckets=SIZE_BUCKETS_BYTES
)
STAGE_DURATION = Histogram(
    "export_stage_duration_seconds",
    "Wall time of each stage of an export (jobs/timings.py)",
    ["type", "stage"],
    buckets=STAGE_BUCKETS_S,
)
REUSED = Counter("export_jobs_reused", "Exports answered with an earlier result", ["type"])
DOWNLOADED_BYTES = Counter("export_downloaded_bytes", "Media bytes downloaded from Payload")
UPLOADED_BYTES = Counter("export_uploaded_bytes", "Export bytes uploaded to Payload Media")
PAYLOAD_LATENCY = Histogram(
    "export_payload_request_duration_seconds",
    "Payload REST calls and media downloads",
    ["method", "route"],
    buckets=PAYLOAD_BUCKETS_S,
)
PAYLOAD_ERRORS = Counter(
    "export_payload_request_errors",
    "Payload calls that failed: HTTP status class or exception name",
    ["method", "route", "reason"],
)

_ID = re.compile(r"^(?!me$)[^/]+$")
#: Label values come only from sets the service defines, never from a request: a
#: caller's made-up auth collection must not mint a series (`register_collections`).
_known_collections: frozenset[str] = frozenset(
    {"projects", "scripts", "media", "export-requests", "users"}
)
OTHER_COLLECTION = ":collection"


def register_collections(slugs: Iterable[str]) -> None:
    """The collection slugs this deployment talks to (settings), the only ones labelled."""
    global _known_collections
    _known_collections = _known_collections | frozenset(slugs)


def payload_route(path: str) -> str:
    """`/projects/17` → `/projects/:id`: a label with few values, whatever the ids or input."""
    if path == "download":
        return path
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "/"
    collection = parts[0] if parts[0] in _known_collections else OTHER_COLLECTION
    rest = [":id" if _ID.match(p) else p for p in parts[1:]]
    return "/" + "/".join([collection, *rest])


def observe_payload_call(call: PayloadCall) -> None:
    """The `PayloadClient.on_response` hook the service's clients are built with."""
    route = payload_route(call.path)
    PAYLOAD_LATENCY.labels(call.method, route).observe(call.duration_s)
    if call.bytes_received:
        DOWNLOADED_BYTES.inc(call.bytes_received)
    if call.status is not None and call.status < 400:
        return
    reason = f"{call.status // 100}xx" if call.status is not None else call.error or "error"
    PAYLOAD_ERRORS.labels(call.method, route, reason).inc()


def submitted(export_type: ExportType) -> None:
    SUBMITTED.labels(export_type.value).inc()


def finished(export_type: ExportType, outcome: str, duration_s: float) -> None:
    """`outcome` is succeeded, failed or cancelled."""
    FINISHED.labels(export_type.value, outcome).inc()
    DURATION.labels(export_type.value, outcome).observe(duration_s)


def artifact_built(export_type: ExportType, size_bytes: int) -> None:
    ARTIFACT_BYTES.labels(export_type.value).observe(size_bytes)


def uploaded(size_bytes: int) -> None:
    UPLOADED_BYTES.inc(size_bytes)


def stages(export_type: ExportType, timings_ms: dict[str, float]) -> None:
    """Observe each stage of a finished job (`JobState.timings`, milliseconds)."""
    for stage, ms in timings_ms.items():
        STAGE_DURATION.labels(export_type.value, stage).observe(ms / 1000)


def reused(export_type: ExportType) -> None:
    REUSED.labels(export_type.value).inc()
