"""`GET /metrics`: the service's Prometheus metrics, in the text exposition format.

Three sources end up in one scrape:

- HTTP requests to this web process (`observe_request`, called per request):
  `export_http_requests_total{method, route, status}` and
  `export_http_request_duration_seconds{method, route}`, `route` being the route's template;
- the pipeline's counters and histograms (`jobs.metrics`), from this process and, in
  multiprocess mode (PROMETHEUS_MULTIPROC_DIR), from every worker and work horse sharing
  that directory;
- the queue as Redis sees it at scrape time (`QueueCollector`): depth, age of the oldest
  queued job, running and failed jobs, live workers.

/metrics is unauthenticated unless METRICS_TOKEN is set (then `Authorization: Bearer
<token>`); either way keep it off the public internet (docs/deploy.md).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Scope

from app.settings import Settings
from jobs import metrics as _pipeline_metrics  # noqa: F401  (registers them in every process)

logger = logging.getLogger(__name__)

HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNMATCHED_ROUTE = "<unmatched>"
#: Methods counted by name; anything else a client sends is `OTHER`, never a new series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"

HTTP_REQUESTS = Counter(
    "export_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "export_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=HTTP_BUCKETS_S,
)


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one HTTP request by its route's template, never its raw path.

    Called by `app.logs.RequestIdMiddleware`, which already wraps every request once.
    """
    # The router records the matched route in the (shared) scope.
    route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
    method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


class QueueCollector(Collector):
    """The export queue as Redis sees it now; `export_redis_up 0` if Redis does not answer."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("export_redis_up", "Whether Redis answered this scrape")
        try:
            families = list(self._queue_families())
        except RedisError as exc:
            logger.warning("metrics: Redis did not answer: %s", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _queue_families(self) -> Iterator[Metric]:
        queue = Queue(self.queue_name, connection=self.redis)
        values = {
            "export_queue_depth": ("Jobs waiting in the queue", queue.count),
            "export_queue_oldest_age_seconds": (
                "Age of the oldest waiting job (0 when none waits)",
                self._oldest_age_s(queue),
            ),
            "export_queue_running_jobs": (
                "Jobs a worker is running (RQ's started registry)",
                StartedJobRegistry(queue=queue).count,
            ),
            "export_queue_failed_jobs": (
                "Jobs in RQ's failed registry (kept FAILURE_TTL_S)",
                FailedJobRegistry(queue=queue).count,
            ),
            "export_workers": ("Live RQ workers on the queue", Worker.count(queue=queue)),
        }
        for name, (documentation, value) in values.items():
            family = GaugeMetricFamily(name, documentation, labels=["queue"])
            family.add_metric([self.queue_name], float(value))
            yield family

    @staticmethod
    def _oldest_age_s(queue: Queue) -> float:
        # RQ appends to the right, so the head of the list has waited longest.
        for job_id in queue.get_job_ids(0, 1):
            job = queue.fetch_job(job_id)
            if job is not None and job.enqueued_at is not None:
                enqueued = job.enqueued_at
                if enqueued.tzinfo is None:
                    enqueued = enqueued.replace(tzinfo=UTC)
                return max(0.0, (datetime.now(UTC) - enqueued).total_seconds())
        return 0.0


class _ThisProcess(Collector):
    """The default registry (this process's metrics), when not in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def process_registry(settings: Settings) -> CollectorRegistry:
    """Every process's pipeline metrics in multiprocess mode, else this process's."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.metrics_multiproc_dir is not None:
        MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(settings.metrics_multiproc_dir)
        )
    else:
        registry.register(_ThisProcess())
    return registry


def scrape(settings: Settings, redis: Redis, accept: str = "") -> tuple[bytes, str]:
    """The exposition (in the format `accept` asks for: text, or OpenMetrics) and its type."""
    registry = process_registry(settings)
    registry.register(QueueCollector(redis, settings.queue_name))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


async def metrics_endpoint(request: Request) -> Response:
    services = request.app.state.services
    settings: Settings = services.settings
    if settings.metrics_token is not None and not _token_ok(request, str(settings.metrics_token)):
        return PlainTextResponse(
            "metrics need Authorization: Bearer <METRICS_TOKEN>\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    accept = request.headers.get("accept", "")
    body, content_type = await run_in_threadpool(scrape, settings, services.redis, accept)
    return Response(body, headers={"Content-Type": content_type})


def _token_ok(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def serve_worker_metrics(settings: Settings) -> bool:
    """On WORKER_METRICS_PORT, serve this host's worker metrics (workers on other hosts than
    the web process). Needs multiprocess mode: a work horse's figures die with it otherwise.
    """
    if settings.worker_metrics_port is None:
        return False
    if settings.metrics_multiproc_dir is None:
        logger.warning(
            "WORKER_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: work horses' "
            "metrics would be lost, so none are served"
        )
        return False
    start_http_server(settings.worker_metrics_port, registry=process_registry(settings))
    logger.info("worker metrics on :%d/metrics", settings.worker_metrics_port)
    return True
