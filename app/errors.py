"""Every error the HTTP API answers with, and the one place they become JSON.

    APIError(status, code, message, field=None)
    ├── raised by routes and helpers for input, auth and lookup failures
    └── mapped from the other boundaries by `handlers`:
        CMSError (cms_client)      → 401/403/404/422/502/503 naming Payload
        QuotaExceeded (jobs)       → 429 with Retry-After
        RedisError                 → 503 naming Redis
        HTTPException (Starlette)  → its status, as JSON
        anything else              → 500, logged with its traceback, never shown

The body is always `{"error": {"code": …, "message": …, "field": …}}`. On a WebSocket
there is no body to send: the same handlers close the socket with a code instead
(`websocket_safe`): 1008 for a refusal, 1013 (try again later) for a dependency that is
down, 1011 for anything else, so a socket never drops without a close frame.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketState

from cms_client import (
    CMSDocumentTooDeep,
    CMSError,
    CMSForbidden,
    CMSNotFound,
    CMSUnauthorized,
    CMSUnavailable,
)
from jobs.quotas import QuotaExceeded

logger = logging.getLogger(__name__)


class APIError(Exception):
    """An error answer with a machine code and a sentence a person can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers)


async def cms_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CMSError)
    if isinstance(exc, CMSUnavailable):
        # Where Payload lives and what it said stay in the log, joined by the request id.
        logger.warning("Payload unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "payload_unavailable",
            "Payload is unavailable, nothing was queued; try again shortly",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, CMSUnauthorized):
        return error_response(401, "unauthenticated", str(exc))
    if isinstance(exc, CMSForbidden):
        return error_response(403, "forbidden", str(exc))
    if isinstance(exc, CMSNotFound):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, CMSDocumentTooDeep):
        return error_response(422, "document_too_deep", str(exc), field="projectId")
    return error_response(502, "payload_error", f"Payload gave an unexpected answer: {exc}")


async def quota_exceeded(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QuotaExceeded)
    return error_response(
        429, "too_many_exports", exc.message, headers={"Retry-After": str(exc.retry_after_s)}
    )


async def redis_error(request: Request, exc: Exception) -> Response:
    logger.warning("redis error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503,
        "redis_unavailable",
        "the job queue (Redis) is unavailable, nothing was queued; try again shortly",
        headers={"Retry-After": "10"},
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code != 404 else f"no route for {request.url.path}"
    return error_response(exc.status_code, code, str(message), headers=exc.headers)


async def unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "the service failed unexpectedly; its log has the details"
    )


CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_REASON_CHARS = 120  # a close frame's reason is at most 123 bytes

Handler = Callable[[Request, Exception], Awaitable[Response]]


def websocket_safe(handler: Handler) -> Callable[[HTTPConnection, Exception], Awaitable[Any]]:
    """`handler` for HTTP; on a WebSocket, close it with the code the error stands for."""

    async def handle(conn: HTTPConnection, exc: Exception) -> Response | None:
        if conn.scope["type"] != "websocket":
            assert isinstance(conn, Request)
            return await handler(conn, exc)
        assert isinstance(conn, WebSocket)
        code, reason = close_for(exc)
        if code == CLOSE_INTERNAL_ERROR:
            logger.error("unhandled error on socket %s", conn.url.path, exc_info=exc)
        else:
            logger.warning("socket %s closed %d: %s", conn.url.path, code, reason)
        if conn.application_state != WebSocketState.DISCONNECTED:
            await conn.close(code, reason=reason[:CLOSE_REASON_CHARS])
        return None

    return handle


def close_for(exc: Exception) -> tuple[int, str]:
    """The WebSocket close code and reason an error stands for."""
    if isinstance(exc, APIError):
        return CLOSE_POLICY_VIOLATION, exc.message[:CLOSE_REASON_CHARS]
    if isinstance(exc, RedisError | CMSUnavailable):
        return CLOSE_TRY_AGAIN_LATER, "a dependency is unavailable; reconnect shortly"
    return CLOSE_INTERNAL_ERROR, "the service failed unexpectedly; reconnect shortly"


handlers = {
    kind: websocket_safe(handler)
    for kind, handler in {
        APIError: api_error,
        CMSError: cms_error,
        RedisError: redis_error,
        QuotaExceeded: quota_exceeded,
        HTTPException: http_exception,
        Exception: unexpected,
    }.items()
}
