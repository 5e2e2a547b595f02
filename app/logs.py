"""Logging for the web process, the workers and the CLI: one JSON object a line.

    {"time": "2026-11-25T10:00:00.123Z", "level": "INFO", "logger": "jobs.runner",
     "message": "job 3f…: succeeded, media 104", "jobId": "3f…", "projectId": 17,
     "requestId": null, "duration": 1.234}

- `setup_logging(settings)` installs one handler on the root logger (JSON, or plain text
  with LOG_FORMAT=text) at LOG_LEVEL; it is called by each process's entry point, never
  by a library module. uvicorn's and RQ's loggers are routed through it.
- `log_context(job_id=…, project_id=…)` (the runner) and `RequestIdMiddleware` (the web
  app) set context variables every line logged inside them carries.
- `Redactor` is the second line of defence for secrets: whatever a module logs, the
  `Authorization` schemes (`API-Key …`, `Bearer …`, `JWT …`), credentials in URLs (the
  WebSocket `ticket=` query that uvicorn logs with every handshake, signatures, and
  `user:password@`) and the configured secrets are replaced with `[redacted]` before a
  line is written.
- A record's `duration` (seconds) comes from `extra={"duration": …}`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "[redacted]"
#: An incoming X-Request-ID is kept only if it looks like an id, not like an injection.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_CREDENTIALS = re.compile(r"\b(API-Key|Bearer|JWT)(\s+)[^\s\"',;]+", re.IGNORECASE)
#: Query parameters that carry a credential in a URL (socket tickets, signed URLs).
_SECRET_PARAMS = re.compile(
    r"([?&](?:ticket|token|access_token|signature|sig|x-amz-signature|key)=)[^&#\s\"']+",
    re.IGNORECASE,
)
#: `user:password@` in any URL.
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s\"']+@", re.IGNORECASE)
_OUR_HANDLER = "export-service"

job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
project_id_var: ContextVar[int | str | None] = ContextVar("project_id", default=None)
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

logger = logging.getLogger(__name__)


# -- context ---------------------------------------------------------------------------


@contextlib.contextmanager
def log_context(
    *, job_id: str | None = None, project_id: int | str | None = None
) -> Iterator[None]:
    """Every line logged inside the block carries this job's id and project id."""
    tokens = (job_id_var.set(job_id), project_id_var.set(project_id))
    try:
        yield
    finally:
        job_id_var.reset(tokens[0])
        project_id_var.reset(tokens[1])


# -- redaction -------------------------------------------------------------------------


class Redactor(logging.Filter):
    """Replaces credentials and configured secrets in a record's message and exception.

    Used as a handler filter (so it sees records from every logger) and by the
    formatters on the finished line (so tracebacks are covered too).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = _CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for the `Redactor`."""
    values = [str(settings.payload_api_key), *(str(s) for s in settings.webhook_secrets)]
    for secret in (settings.video.token, settings.metrics_token):
        if secret is not None:
            values.append(str(secret))
    return values


# -- formatters ------------------------------------------------------------------------


def _context_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        "jobId": getattr(record, "jobId", None) or job_id_var.get(),
        "projectId": getattr(record, "projectId", None) or project_id_var.get(),
        "requestId": request_id_var.get(),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, ids, duration, exception."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_fields(record),
        }
        duration = getattr(record, "duration", None)
        if isinstance(duration, int | float):
            line["duration"] = round(float(duration), 6)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.redactor.redact(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """For people at a terminal (LOG_FORMAT=text): the same fields, on one line."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{k}={v}" for k, v in _context_fields(record).items() if v is not None)
        return self.redactor.redact(f"{text} [{ids}]" if ids else text)


def setup_logging(
    settings: Settings, *, stream: TextIO | None = None, level: str | None = None
) -> logging.Handler:
    """Route every logger through one redacting handler on the root logger.

    Replaces the handler a previous call installed (and nothing else, so pytest's and
    other tools' handlers survive); returns it.
    """
    redactor = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.name = _OUR_HANDLER
    handler.addFilter(redactor)
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    handler.setFormatter(formatter(redactor))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == _OUR_HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or settings.log_level)
    _adopt_library_loggers()
    return handler


def _adopt_library_loggers() -> None:
    """uvicorn and RQ bring their own handlers; send their records through ours instead."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    # RequestIdMiddleware logs every request with its id and duration.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


# -- request ids -----------------------------------------------------------------------


def request_id_of(incoming: str | None) -> str:
    """The caller's X-Request-ID if it is a sane id, else a new one."""
    if incoming and _SANE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


RequestObserver = Callable[[Scope, int, float], None]


class RequestIdMiddleware:
    """Gives every HTTP request an id (echoed in X-Request-ID) and one log line.

    `observers` are told each request's scope, status and duration (metrics), so one
    wrapper times every request once.
    """

    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = request_id_of(raw)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            logger.info(
                "%s %s -> %d",
                scope["method"],
                scope["path"],
                status["code"],
                extra={"duration": duration},
            )
            for observe in self.observers:
                observe(scope, status["code"], duration)
            request_id_var.reset(token)
