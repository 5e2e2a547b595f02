"""The web process: `app` is what `uvicorn app.main:app` serves.

Connections open in the lifespan, never at import, so importing this module reads no
environment and touches no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis import Redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from app import mcp, tickets
from app.auth import Authenticator
from app.errors import handlers
from app.events import EventHub, job_events
from app.logs import RequestIdMiddleware, setup_logging
from app.metrics import metrics_endpoint, observe_request
from app.openapi import openapi
from app.redelivery import redeliver_lost
from app.routes import routes as api_routes
from app.scaling import queues_endpoint
from app.settings import Settings, SettingsError, load_settings
from app.submissions import Services
from app.webhooks import payload_ticket, payload_webhook
from cms_client import PayloadClient
from cms_client.client import pooled_session
from jobs import connection as redis_connection
from jobs import metrics as job_metrics
from jobs.liveness import sweep
from jobs.runtime import known_collections

logger = logging.getLogger(__name__)

routes = [
    *api_routes,
    Route("/webhooks/payload", payload_webhook, methods=["POST"]),
    Route("/webhooks/payload/ticket", payload_ticket, methods=["POST"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    WebSocketRoute("/jobs/{job_id}/events", job_events),
    *mcp.routes,
    Route("/metrics", metrics_endpoint, methods=["GET"]),  # Prometheus (app/metrics.py)
    Route("/metrics/queues", queues_endpoint, methods=["GET"]),  # autoscalers (app/scaling.py)
]

# Outermost first: every request gets its id (and its log line) before it is measured.
middleware = [Middleware(RequestIdMiddleware, observers=[observe_request])]


def connect_redis(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise SettingsError(
            "REDIS_URL is not set; set it, or use `export-service dev`, which starts an "
            "embedded Redis"
        )
    return redis_connection.connect(settings.redis_url, health_check_interval=30)


def service_client(settings: Settings) -> PayloadClient:
    job_metrics.register_collections(known_collections(settings))
    return PayloadClient(
        settings.payload_url,
        authorization=settings.service_authorization,
        timeout=(settings.http_connect_timeout_s, settings.http_read_timeout_s),
        session=pooled_session(settings.payload_pool_size),
        allowed_media_origins=settings.allowed_media_origins,
        on_response=job_metrics.observe_payload_call,  # Payload latencies and errors
    )


def create_app(
    settings: Settings | None = None,
    *,
    redis: Redis | None = None,
    configure_logging: bool | None = None,
) -> Starlette:
    """Build the app; settings and Redis default to the environment, read at startup.

    Logging is configured (app/logs.py) when the app reads its own settings, i.e. when it
    is the process (`uvicorn app.main:app`); tests that hand in settings opt in.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        resolved = settings or load_settings()
        if configure_logging if configure_logging is not None else settings is None:
            setup_logging(resolved)
        connection = redis or connect_redis(resolved)
        cms = service_client(resolved)
        auth = Authenticator(cms, resolved)
        services = Services(settings=resolved, redis=connection, cms=cms, auth=auth)
        app.state.services = services
        app.state.auth = auth
        app.state.ticket_key = tickets.ticket_key(str(resolved.payload_api_key))
        redis_url = (resolved.redis_url if redis is None else redis_url_of(connection)) or ""
        services.aredis = connect_async_redis(redis_url, pool_size=resolved.redis_pool_size)
        app.state.events = EventHub(redis_url)
        await app.state.events.start()
        sweeper = asyncio.create_task(sweep_forever(services), name="sweeper")
        app.state.mcp = mcp.session_manager(resolved)
        logger.info("export-service web ready; Payload at %s", resolved.payload_url)
        try:
            async with app.state.mcp.run():
                yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await app.state.events.stop()
            await services.aredis.aclose()
            cms.session.close()
            if redis is None:
                connection.close()

    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )


def connect_async_redis(url: str, *, pool_size: int) -> aioredis.Redis:
    """The event loop's own Redis client, for hot reads without a thread hop (at most
    `pool_size` connections, REDIS_POOL_SIZE; a look-up beyond waits for one)."""
    return redis_connection.connect_async(url, pool_size=pool_size)


def redis_url_of(connection: Redis) -> str:
    """The URL of a connection the app was handed (tests pass a connection, not a URL)."""
    kwargs = connection.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={db}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


async def sweep_forever(services: Services) -> None:
    """Every interval: fail jobs whose worker died, retry pending write-backs, and queue
    export requests whose webhook was lost."""
    runtime = services.runtime
    while True:
        await asyncio.sleep(runtime.settings.sweep_interval_s)
        try:
            report = await run_in_threadpool(sweep, runtime)
        except Exception as exc:  # Redis or Payload down: try again next round
            logger.warning("sweep failed: %s", exc)
            continue
        if report.abandoned or report.written_back:
            logger.info(
                "sweep: %d abandoned job(s) failed, %d write-back(s) done",
                len(report.abandoned),
                len(report.written_back),
            )
        try:
            await redeliver_lost(services)
        except Exception as exc:  # Payload or Redis down: try again next round
            logger.warning("looking for lost webhook deliveries failed: %s", exc)


app = create_app()
