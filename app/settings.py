"""Configuration, read once from the environment (and an optional `.env`).

This is the only module that reads the environment. Every other module receives a
`Settings` object: the web app in `app.main.create_app`, workers in `jobs.worker`.

A missing or malformed value raises `SettingsError` with a sentence that names the
variable, so the process fails at start rather than at the first export.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from starlette.config import Config
from starlette.datastructures import Secret

T = TypeVar("T")

DEFAULT_PORT = 8000
#: Written by `export-service dev` into the data folder while it runs (and removed when it
#: stops): what the command line needs to reach that dev stack (app/cli/main.py).
DEV_ENV_FILE = "dev.env"
#: A locale code as Payload configures them: `en`, `de`, `pt-BR`, `zh_Hant`.
LOCALE_PATTERN = r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Collections:
    """Payload collection slugs the service reads and writes."""

    projects: str = "projects"
    scripts: str = "scripts"
    media: str = "media"
    export_requests: str = "export-requests"


@dataclass(frozen=True)
class Limits:
    """Export limits; every one is a setting with its unit in the name."""

    max_total_bytes: int = 20 * 1024**3
    max_files: int = 5_000
    max_file_bytes: int = 5 * 1024**3
    job_timeout_s: int = 3_600
    max_body_bytes: int = 64 * 1024
    min_free_temp_bytes: int = 256 * 1024**2
    max_queue_depth: int = 1_000
    max_active_per_caller: int = 10
    max_video_seconds: int = 600
    media_cache_bytes: int = 512 * 1024**2


@dataclass(frozen=True)
class VideoServices:
    """The platform's video-processing and transcoding services (docs/video-services.md).

    Both URLs set: video exports are delegated to them; neither: the worker renders with
    its own ffmpeg. Poll intervals and timeouts are in seconds.
    """

    processing_url: str | None = None
    transcoding_url: str | None = None
    processing_path: str = "/v1/renders"
    transcoding_path: str = "/v1/transcodes"
    token: Secret | None = None
    poll_interval_s: float = 2.0
    poll_max_interval_s: float = 30.0
    render_timeout_s: float = 1_500.0
    transcode_timeout_s: float = 1_500.0

    @property
    def configured(self) -> bool:
        return self.processing_url is not None and self.transcoding_url is not None


@dataclass(frozen=True)
class Settings:
    """Everything the web process and the workers are configured with."""

    payload_url: str
    payload_api_key: Secret
    payload_auth_collection: str = "users"
    redis_url: str | None = None
    collections: Collections = field(default_factory=Collections)
    limits: Limits = field(default_factory=Limits)
    video: VideoServices = field(default_factory=VideoServices)
    temp_dir: Path | None = None
    data_dir: Path = Path(".data")
    webhook_secrets: tuple[Secret, ...] = ()
    allowed_media_origins: tuple[str, ...] = ()
    templates_dir: Path | None = None
    #: Payload's locales, the default first, when the plugin's endpoint does not list them.
    payload_locales: tuple[str, ...] = ()
    http_connect_timeout_s: float = 5.0
    http_read_timeout_s: float = 60.0
    auth_cache_ttl_s: float = 30.0
    redis_pool_size: int = 200
    payload_pool_size: int = 40
    job_ttl_s: int = 7 * 24 * 3600
    progress_writeback_interval_s: float = 1.0
    writeback_retry_delays_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    queue_name: str = "exports"
    # Queues by expected cost (jobs/queue.py): workers take fast jobs first by default.
    fast_queue: str = "exports-fast"
    bulk_queue: str = "exports-bulk"
    shutdown_grace_s: float = 25.0
    heartbeat_ttl_s: int = 45
    sweep_interval_s: float = 30.0
    redeliver_after_s: int = 120
    service_version: str = "0.1.0"
    # Observability (app/logs.py, app/metrics.py, docs/deploy.md).
    log_level: str = "INFO"
    log_format: str = "json"
    metrics_multiproc_dir: Path | None = None
    metrics_token: Secret | None = None
    worker_metrics_port: int | None = None

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue exports may wait in, in the order workers take them: fast, bulk, and
        EXPORT_QUEUE, where exports queued before the split may still wait."""
        return tuple(dict.fromkeys((self.fast_queue, self.bulk_queue, self.queue_name)))

    @property
    def payload_origin(self) -> str:
        parts = urlsplit(self.payload_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def service_authorization(self) -> str:
        """The `Authorization` header value for the service's own Payload key."""
        return f"{self.payload_auth_collection} API-Key {self.payload_api_key}"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read and validate the settings; raise `SettingsError` naming the culprit."""
    environ = os.environ if environ is None else environ
    env_path = env_file if env_file is not None and Path(env_file).is_file() else None
    config = Config(env_path, environ=environ)
    read = _Reader(config)
    limits = Limits(
        max_total_bytes=read("EXPORT_MAX_TOTAL_BYTES", _positive_int, Limits.max_total_bytes),
        max_files=read("EXPORT_MAX_FILES", _positive_int, Limits.max_files),
        max_file_bytes=read("EXPORT_MAX_FILE_BYTES", _positive_int, Limits.max_file_bytes),
        job_timeout_s=read("EXPORT_JOB_TIMEOUT_S", _positive_int, Limits.job_timeout_s),
        max_body_bytes=read("EXPORT_MAX_BODY_BYTES", _positive_int, Limits.max_body_bytes),
        min_free_temp_bytes=read(
            "EXPORT_MIN_FREE_TEMP_BYTES", _non_negative_int, Limits.min_free_temp_bytes
        ),
        max_queue_depth=read("EXPORT_MAX_QUEUE_DEPTH", _positive_int, Limits.max_queue_depth),
        max_active_per_caller=read(
            "EXPORT_MAX_ACTIVE_PER_CALLER", _positive_int, Limits.max_active_per_caller
        ),
        max_video_seconds=read("EXPORT_MAX_VIDEO_SECONDS", _positive_int, Limits.max_video_seconds),
        media_cache_bytes=read(
            "EXPORT_MEDIA_CACHE_BYTES", _non_negative_int, Limits.media_cache_bytes
        ),
    )
    collections = Collections(
        projects=read("PAYLOAD_PROJECTS_COLLECTION", _slug, "projects"),
        scripts=read("PAYLOAD_SCRIPTS_COLLECTION", _slug, "scripts"),
        media=read("PAYLOAD_MEDIA_COLLECTION", _slug, "media"),
        export_requests=read("PAYLOAD_EXPORT_REQUESTS_COLLECTION", _slug, "export-requests"),
    )
    return Settings(
        payload_url=read("PAYLOAD_URL", _http_url),
        payload_api_key=Secret(read("PAYLOAD_API_KEY", _non_empty)),
        payload_auth_collection=read("PAYLOAD_AUTH_COLLECTION", _slug, "users"),
        redis_url=_redis_target(read),
        collections=collections,
        limits=limits,
        video=_video_services(read),
        temp_dir=read("EXPORT_TEMP_DIR", Path, None),
        data_dir=read("EXPORT_DATA_DIR", Path, Path(".data")),
        webhook_secrets=read("EXPORT_WEBHOOK_SECRET", _secrets, ()),
        allowed_media_origins=read("EXPORT_ALLOWED_MEDIA_ORIGINS", _origins, ()),
        templates_dir=read("EXPORT_TEMPLATES_DIR", _existing_dir, None),
        payload_locales=read("PAYLOAD_LOCALES", _locales, ()),
        http_connect_timeout_s=read("HTTP_CONNECT_TIMEOUT_S", _positive_float, 5.0),
        http_read_timeout_s=read("HTTP_READ_TIMEOUT_S", _positive_float, 60.0),
        auth_cache_ttl_s=read("EXPORT_AUTH_CACHE_TTL_S", _non_negative_float, 30.0),
        redis_pool_size=read("REDIS_POOL_SIZE", _positive_int, 200),
        payload_pool_size=read("PAYLOAD_POOL_SIZE", _positive_int, 40),
        job_ttl_s=read("EXPORT_JOB_TTL_S", _positive_int, 7 * 24 * 3600),
        queue_name=read("EXPORT_QUEUE", _slug, "exports"),
        fast_queue=read("EXPORT_QUEUE_FAST", _slug, "exports-fast"),
        bulk_queue=read("EXPORT_QUEUE_BULK", _slug, "exports-bulk"),
        shutdown_grace_s=read("EXPORT_SHUTDOWN_GRACE_S", _positive_float, 25.0),
        heartbeat_ttl_s=read("EXPORT_HEARTBEAT_TTL_S", _positive_int, 45),
        sweep_interval_s=read("EXPORT_SWEEP_INTERVAL_S", _positive_float, 30.0),
        redeliver_after_s=read("EXPORT_REDELIVER_AFTER_S", _positive_int, 120),
        log_level=read("LOG_LEVEL", _log_level, "INFO"),
        log_format=read("LOG_FORMAT", _log_format, "json"),
        metrics_multiproc_dir=_metrics_dir(read, environ),
        metrics_token=read("METRICS_TOKEN", Secret, None),
        worker_metrics_port=read("WORKER_METRICS_PORT", _port, None),
    )


def load_cli_settings() -> Settings:
    """Settings for the command line: the environment, then the `dev.env` that a running
    `export-service dev` wrote into EXPORT_DATA_DIR, then `.env`. So right after
    `./scripts/run`, the CLI in the checkout uses that stack's Payload, key and Redis."""
    environ = dict(os.environ)
    dev_env = Path(environ.get("EXPORT_DATA_DIR") or ".data") / DEV_ENV_FILE
    if dev_env.is_file():
        for name, value in read_env_file(dev_env).items():
            environ.setdefault(name, value)
    return load_settings(environ)


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments are skipped."""
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def _metrics_dir(read: _Reader, environ: Mapping[str, str]) -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR: prometheus_client reads it from the process environment
    itself, at import, so a value only in `.env` would be silently ignored."""
    path = read("PROMETHEUS_MULTIPROC_DIR", _existing_dir, None)
    if path is not None and not environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise SettingsError(
            "PROMETHEUS_MULTIPROC_DIR is set in .env but not in the process environment; "
            "prometheus_client only reads the environment, so export it before starting"
        )
    return path


def _redis_target(read: _Reader) -> str | None:
    """REDIS_URL, or the `redis+sentinel://` URL that REDIS_SENTINELS and
    REDIS_SENTINEL_MASTER spell (jobs/connection.py opens either)."""
    url = read("REDIS_URL", _redis_url, None)
    sentinels = read("REDIS_SENTINELS", _host_ports, None)
    master = read("REDIS_SENTINEL_MASTER", _slug, None)
    if sentinels is None:
        if master is not None:
            raise SettingsError(
                "REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not; list the Sentinels "
                "as host:port,host:port (or use a redis+sentinel:// REDIS_URL)"
            )
        return url
    if master is None:
        raise SettingsError(
            "REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not; set it to the name the "
            "Sentinels monitor (`sentinel monitor <name> …`), e.g. mymaster"
        )
    if url is not None:
        raise SettingsError(
            "both REDIS_URL and REDIS_SENTINELS are set; use REDIS_SENTINELS with "
            "REDIS_SENTINEL_MASTER, or one redis+sentinel:// REDIS_URL, not both"
        )
    return f"redis+sentinel://{sentinels}/{master}/0"


def _video_services(read: _Reader) -> VideoServices:
    video = VideoServices(
        processing_url=read("VIDEO_PROCESSING_URL", _http_url, None),
        transcoding_url=read("TRANSCODING_URL", _http_url, None),
        processing_path=read("VIDEO_PROCESSING_PATH", _url_path, VideoServices.processing_path),
        transcoding_path=read("TRANSCODING_PATH", _url_path, VideoServices.transcoding_path),
        token=read("VIDEO_SERVICES_TOKEN", Secret, None),
        poll_interval_s=read(
            "VIDEO_POLL_INTERVAL_S", _positive_float, VideoServices.poll_interval_s
        ),
        poll_max_interval_s=read(
            "VIDEO_POLL_MAX_INTERVAL_S", _positive_float, VideoServices.poll_max_interval_s
        ),
        render_timeout_s=read(
            "VIDEO_RENDER_TIMEOUT_S", _positive_float, VideoServices.render_timeout_s
        ),
        transcode_timeout_s=read(
            "VIDEO_TRANSCODE_TIMEOUT_S", _positive_float, VideoServices.transcode_timeout_s
        ),
    )
    if (video.processing_url is None) != (video.transcoding_url is None):
        missing = "TRANSCODING_URL" if video.transcoding_url is None else "VIDEO_PROCESSING_URL"
        raise SettingsError(
            f"{missing} is not set but the other video service URL is; set both to use the "
            "video services, or neither to render with the worker's own ffmpeg"
        )
    return video


_MISSING = object()
#: Variables whose values are never repeated in an error (or anywhere else).
SECRET_VARIABLES = frozenset(
    {"PAYLOAD_API_KEY", "EXPORT_WEBHOOK_SECRET", "VIDEO_SERVICES_TOKEN", "METRICS_TOKEN"}
)


class _Reader:
    """Reads one variable, casts it and turns any failure into a `SettingsError`."""

    def __init__(self, config: Config) -> None:
        self._config = config

    def __call__(self, name: str, cast: Callable[[str], T], default: object = _MISSING) -> T:
        raw = self._config(name, default=None)
        if raw is None or raw == "":
            if default is _MISSING:
                raise SettingsError(f"{name} is not set; set it in the environment or in .env")
            return default  # type: ignore[return-value]
        try:
            return cast(str(raw))
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{_shown(name, str(raw))} is not valid: {exc}") from exc


def _shown(name: str, raw: str) -> str:
    """`NAME='value'` for an error, without a secret's value or a URL's password."""
    if name in SECRET_VARIABLES:
        return f"{name} (value not shown)"
    parts = urlsplit(raw)
    if parts.password is not None or parts.username is not None:
        raw = raw.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1)
    return f"{name}={raw!r}"


def _non_empty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("it must not be empty")
    return value


def _positive_int(value: str) -> int:
    number = int(value.replace("_", ""))
    if number <= 0:
        raise ValueError("it must be a whole number above 0")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value.replace("_", ""))
    if number < 0:
        raise ValueError("it must be a whole number, 0 or more")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("it must be a number above 0")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("it must be a number, 0 or more")
    return number


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _log_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in ("json", "text"):
        raise ValueError("use json (one JSON object a line) or text")
    return fmt


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError("it must be a TCP port, 1 to 65535")
    return number


def _slug(value: str) -> str:
    value = value.strip()
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("use letters, digits, '-' and '_' only")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL such as http://localhost:3000")
    return value.strip().rstrip("/")


def _url_path(value: str) -> str:
    value = value.strip()
    if not value.startswith("/") or "?" in value or "#" in value:
        raise ValueError("expected a path such as /v1/renders")
    return value.rstrip("/")


def _redis_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in ("redis", "rediss", "unix", "redis+sentinel"):
        raise ValueError(
            "expected redis://host:port/db, rediss://…, unix:///path.sock or "
            "redis+sentinel://host:26379,host:26379/<master>/<db>"
        )
    if scheme == "redis+sentinel":
        _sentinel_url_parts(value)
    return value


def _sentinel_url_parts(value: str) -> None:
    """Validated here so a typo stops the process at start; jobs/connection.py parses it."""
    parts = urlsplit(value)
    hosts = parts.netloc.rpartition("@")[2]
    _host_ports(hosts)
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("the path must be /<master name> or /<master name>/<db number>")


def _host_ports(value: str) -> str:
    """`host:port,host:port`, normalised; a port defaults to Sentinel's 26379."""
    items = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        host = host or item.strip()
        if not host:
            continue
        number = int(port) if port else 26379
        if not 0 < number < 65536:
            raise ValueError(f"{item.strip()!r}: the port must be 1 to 65535")
        items.append(f"{host}:{number}")
    if not items:
        raise ValueError("list the Sentinels as host:port,host:port")
    return ",".join(items)


def _secrets(value: str) -> tuple[Secret, ...]:
    parts = tuple(Secret(p.strip()) for p in value.split(",") if p.strip())
    if any(len(str(p)) < 16 for p in parts):
        raise ValueError("each secret must be at least 16 characters")
    return parts


def _origins(value: str) -> tuple[str, ...]:
    origins = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError(f"{item!r} is not an origin such as https://media.example.com")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def _locales(value: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in value.split(",") if code.strip())
    for code in codes:
        if not re.fullmatch(LOCALE_PATTERN, code) or code == "all":
            raise ValueError(f"{code!r} is not a locale code such as en, de or pt-BR")
    return codes


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    return path
