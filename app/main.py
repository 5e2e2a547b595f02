"""The web process: `app` is what `uvicorn app.main:app` serves.

Connections open in the lifespan, never at import, so importing this module reads no
environment and touches no network.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from starlette.applications import Starlette
from starlette.routing import Route

from app.auth import Authenticator
from app.errors import handlers
from app.routes import routes as api_routes
from app.settings import Settings, SettingsError, load_settings
from app.submissions import Services
from app.webhooks import payload_webhook
from cms_client import PayloadClient

logger = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT_S = 5.0
REDIS_CONNECT_TIMEOUT_S = 2.0
REDIS_RETRIES = 2

routes = [
    *api_routes,
    Route("/webhooks/payload", payload_webhook, methods=["POST"]),
]


def connect_redis(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise SettingsError(
            "REDIS_URL is not set; set it, or use `export-service dev`, which starts an "
            "embedded Redis"
        )
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), REDIS_RETRIES),
    )


def service_client(settings: Settings) -> PayloadClient:
    return PayloadClient(
        settings.payload_url,
        authorization=settings.service_authorization,
        timeout=(settings.http_connect_timeout_s, settings.http_read_timeout_s),
        allowed_media_origins=settings.allowed_media_origins,
    )


def create_app(settings: Settings | None = None, *, redis: Redis | None = None) -> Starlette:
    """Build the app; settings and Redis default to the environment, read at startup."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        resolved = settings or load_settings()
        connection = redis or connect_redis(resolved)
        cms = service_client(resolved)
        app.state.services = Services(settings=resolved, redis=connection, cms=cms)
        app.state.auth = Authenticator(cms, resolved)
        logger.info("export-service web ready; Payload at %s", resolved.payload_url)
        try:
            yield
        finally:
            cms.session.close()
            if redis is None:
                connection.close()

    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


app = create_app()
