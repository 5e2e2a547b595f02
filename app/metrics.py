"""`GET /metrics`: the service's Prometheus metrics, in the text exposition format.

Three sources end up in one scrape:

- HTTP requests to this web process (`observe_request`, called per request):
  `export_http_requests_total{method, route, status}` and
  `export_http_request_duration_seconds{method, route}`, `route` being the route's template;
- the pipeline's counters and histograms (`jobs.metrics`), from this process and, in
  multiprocess mode (PROMETHEUS_MULTIPROC_DIR), from every worker and work horse sharing
  that directory (read under its fold lock, `jobs.metrics_archive`);
- the queues as Redis sees them at scrape time (`QueueCollector`): per queue, waiting,
  running, demand (their sum), failed, age of the oldest waiting job, live workers; and the
  fleet-wide submitted and finished counters every process keeps in Redis (`jobs.fleet`),
  so a Procfile deployment (no shared multiprocess folder) still shows every outcome.

/metrics is unauthenticated unless METRICS_TOKEN is set (then `Authorization: Bearer
<token>`); either way keep it off the public internet (docs/deploy.md).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator, Sequence

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.errors import APIError
from app.settings import Settings
from jobs import fleet
from jobs import metrics as _pipeline_metrics  # noqa: F401  (registers them in every process)
from jobs.metrics_archive import FoldAwareCollector

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
    """The export queues and the fleet's counters as Redis holds them now (`jobs.fleet`);
    `export_redis_up 0` if Redis does not answer."""

    def __init__(self, redis: Redis, queue_names: Sequence[str]) -> None:
        self.redis = redis
        self.queue_names = tuple(queue_names)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("export_redis_up", "Whether Redis answered this scrape")
        try:
            families = [*self._queue_families(), *self._fleet_families()]
        except RedisError as exc:
            logger.warning("metrics: Redis did not answer: %s", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _queue_families(self) -> Iterator[Metric]:
        figures = [fleet.queue_figures(self.redis, name) for name in self.queue_names]
        gauges = {
            "export_queue_depth": ("Jobs waiting in the queue", "waiting"),
            "export_queue_oldest_age_seconds": (
                "Age of the oldest waiting job (0 when none waits)",
                "oldest_age_s",
            ),
            "export_queue_running_jobs": (
                "Jobs a worker is running (RQ's started registry)",
                "running",
            ),
            "export_queue_demand": (
                "Waiting + running jobs: what to autoscale workers on",
                "demand",
            ),
            "export_queue_failed_jobs": (
                "Jobs in RQ's failed registry (kept FAILURE_TTL_S)",
                "failed",
            ),
            "export_workers": ("Live RQ workers listening to the queue", "workers"),
        }
        for name, (documentation, attribute) in gauges.items():
            family = GaugeMetricFamily(name, documentation, labels=["queue"])
            for queue in figures:
                family.add_metric([queue.name], float(getattr(queue, attribute)))
            yield family

    def _fleet_families(self) -> Iterator[Metric]:
        submitted = CounterMetricFamily(
            "export_fleet_jobs_submitted", "Exports queued, by every web process", labels=["type"]
        )
        for export_type, count in sorted(fleet.submitted_counts(self.redis).items()):
            submitted.add_metric([export_type], count)
        finished = CounterMetricFamily(
            "export_fleet_jobs_finished",
            "Exports that ended on any worker, by outcome",
            labels=["type", "outcome"],
        )
        for (export_type, outcome), count in sorted(fleet.finished_counts(self.redis).items()):
            finished.add_metric([export_type, outcome], count)
        alive = GaugeMetricFamily("export_workers_alive", "Live RQ workers, on any queue or host")
        alive.add_metric([], float(fleet.workers_alive(self.redis)))
        yield submitted
        yield finished
        yield alive


class _ThisProcess(Collector):
    """The default registry (this process's metrics), when not in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def process_registry(settings: Settings) -> CollectorRegistry:
    """Every process's pipeline metrics in multiprocess mode, else this process's."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.metrics_multiproc_dir is not None:
        registry.register(FoldAwareCollector(settings.metrics_multiproc_dir))
    else:
        registry.register(_ThisProcess())
    return registry


def scrape(settings: Settings, redis: Redis, accept: str = "") -> tuple[bytes, str]:
    """The exposition (in the format `accept` asks for: text, or OpenMetrics) and its type."""
    registry = process_registry(settings)
    registry.register(QueueCollector(redis, settings.queues))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


async def metrics_endpoint(request: Request) -> Response:
    services = request.app.state.services
    settings: Settings = services.settings
    require_metrics_token(request, settings)
    accept = request.headers.get("accept", "")
    body, content_type = await run_in_threadpool(scrape, settings, services.redis, accept)
    return Response(body, headers={"Content-Type": content_type})


def require_metrics_token(request: Request, settings: Settings) -> None:
    """With METRICS_TOKEN set, refuse (401, JSON) a scrape without `Bearer <token>`."""
    if settings.metrics_token is None:
        return
    given = request.headers.get("authorization", "")
    expected = f"Bearer {settings.metrics_token}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise APIError(
            401,
            "unauthenticated",
            "the metrics need Authorization: Bearer <METRICS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


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
