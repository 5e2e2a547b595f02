"""`GET /metrics/queues`: what an autoscaler needs, as JSON (KEDA's `metrics-api` scaler).

    {"demand": 3, "queues": {"exports-fast": {"waiting": 0, "running": 1, "demand": 1, ...},
                             "exports-bulk": {"waiting": 1, "running": 1, "demand": 2, ...}}}

`demand` is waiting + running exports. Scale workers on it, not on the queue's length: a
drained queue with busy workers has length 0, and scaling to it SIGTERMs the busy workers
(docs/deploy.md, Autoscaling). Guarded like `/metrics` (METRICS_TOKEN when set).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.metrics import require_metrics_token
from app.settings import Settings
from jobs import fleet


def queue_report(redis: Any, settings: Settings) -> dict[str, Any]:
    figures = [fleet.queue_figures(redis, name) for name in settings.queues]
    return {
        "demand": sum(q.demand for q in figures),
        "queues": {q.name: {**asdict(q), "demand": q.demand} for q in figures},
    }


async def queues_endpoint(request: Request) -> Response:
    services = request.app.state.services
    settings: Settings = services.settings
    require_metrics_token(request, settings)
    report = await run_in_threadpool(queue_report, services.redis, settings)
    return JSONResponse(report)
