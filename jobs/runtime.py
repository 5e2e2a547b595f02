"""What a worker process holds on to: settings, Redis, the job store and the CMS client.

Built once per process on first use (or installed explicitly by tests and the CLI), never
at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from app.settings import Settings, load_settings
from cms_client import PayloadClient
from jobs import connection
from jobs import metrics as job_metrics
from jobs.state import JobStore


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    store: JobStore
    cms: PayloadClient


_current: Runtime | None = None


def build(settings: Settings, redis: Redis) -> Runtime:
    job_metrics.register_collections(known_collections(settings))
    cms = PayloadClient(
        settings.payload_url,
        authorization=settings.service_authorization,
        timeout=(settings.http_connect_timeout_s, settings.http_read_timeout_s),
        allowed_media_origins=settings.allowed_media_origins,
        on_response=job_metrics.observe_payload_call,  # Payload latencies (jobs/metrics.py)
    )
    return Runtime(
        settings=settings,
        redis=redis,
        store=JobStore(redis, ttl_s=settings.job_ttl_s),
        cms=cms,
    )


def known_collections(settings: Settings) -> tuple[str, ...]:
    """The collection slugs this deployment's metrics may name (jobs/metrics.py)."""
    c = settings.collections
    return (c.projects, c.scripts, c.media, c.export_requests, settings.payload_auth_collection)


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    """The process's runtime, built from the environment the first time it is needed."""
    global _current
    if _current is None:
        settings = load_settings()
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set; a worker needs the Redis the web app uses")
        _current = build(settings, connection.connect(settings.redis_url, patient=True))
    return _current
