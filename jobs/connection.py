"""Every Redis connection the service opens: web, its async reads and pub/sub, workers, CLI.

One URL says where Redis is (`Settings.redis_url`): `redis://`, `rediss://`, `unix://`, or
`redis+sentinel://[:password@]host:26379,host:26379/<master>[/<db>]` (which REDIS_SENTINELS
+ REDIS_SENTINEL_MASTER also spell). For Sentinel the client is
`Sentinel(...).master_for(master)`: each new connection asks the Sentinels where the master
is now, and a connection to a master that was demoted is dropped, so after a failover the
next command (retried by the client's `Retry`) reaches the new master.

Retries: against a plain Redis the web retries briefly (a blip; then it answers 503) and
workers (`patient=True`) for a few seconds (a restart), since nobody waits on their answer; a
Sentinel-managed client retries for about `SENTINEL_RETRY_BUDGET_S`, long enough for
Sentinel to notice a dead master and promote a replica (`down-after-milliseconds` + election,
a few seconds when tuned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.retry import Retry
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
#: Retries against a single Redis: ride over a blip, fail fast on an outage.
PLAIN_RETRIES = 2
PLAIN_BACKOFF = (0.05, 0.5)  # base, cap in seconds
#: Retries of a worker against a single Redis: ride over a restart (~6 s).
PATIENT_RETRIES = 5
PATIENT_BACKOFF = (0.25, 2.0)
#: Retries against a Sentinel-managed master: ride over a failover.
SENTINEL_RETRIES = 40
SENTINEL_BACKOFF = (0.1, 1.0)
SENTINEL_RETRY_BUDGET_S = SENTINEL_RETRIES * SENTINEL_BACKOFF[1]
DEFAULT_OPTIONS: dict[str, Any] = {
    "socket_timeout": SOCKET_TIMEOUT_S,
    "socket_connect_timeout": CONNECT_TIMEOUT_S,
    # What CLIENT SETINFO reports, given once: left out, redis-py reads its own package
    # metadata from disk for every new connection (1–5 ms; each work horse opens one).
    "driver_info": DriverInfo(lib_version=redis.__version__),
}


@dataclass(frozen=True)
class SentinelTarget:
    """Where a `redis+sentinel://` URL points: the Sentinels and the master's name."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    password: str | None = None
    username: str | None = None


def is_sentinel(url: str) -> bool:
    return urlsplit(url).scheme == SENTINEL_SCHEME


def parse_sentinel_url(url: str) -> SentinelTarget:
    """`redis+sentinel://[user:password@]h1:26379,h2:26379/mymaster/0` → `SentinelTarget`.

    The credentials are the master's and replicas' (Sentinels are asked without them).
    """
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        sentinels.append((host, int(port)) if host else (port, 26379))
    path = [p for p in parts.path.split("/") if p]
    return SentinelTarget(
        sentinels=tuple(sentinels),
        master=path[0],
        db=int(path[1]) if len(path) > 1 else 0,
        password=unquote(password) if password else None,
        username=unquote(username) if username else None,
    )


def connect(url: str, *, patient: bool = False, **options: Any) -> Redis:
    """A sync client (web, workers, CLI). `options` are redis-py connection options."""
    options = {**DEFAULT_OPTIONS, **options}
    if not is_sentinel(url):
        return Redis.from_url(url, retry=_retry(Retry, url, patient=patient), **options)
    target = parse_sentinel_url(url)
    sentinel = Sentinel(list(target.sentinels), **_sentinel_options(options))  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.master, retry=_retry(Retry, url), **_node_options(target, options)
    )
    return client


def connect_async(url: str, *, pool_size: int | None = None, **options: Any) -> aioredis.Redis:
    """An asyncio client (the web's hot reads and its pub/sub for live progress).

    With `pool_size` (REDIS_POOL_SIZE) at most that many connections: a look-up beyond that
    waits for one (up to the socket timeout) instead of failing, so a thousand watchers
    connecting at once queue for a few milliseconds rather than being refused.
    """
    options = {**DEFAULT_OPTIONS, **options}
    if pool_size is not None:
        options["max_connections"] = pool_size
    if not is_sentinel(url):
        if pool_size is None:
            return aioredis.Redis.from_url(url, retry=_retry(AsyncRetry, url), **options)
        pool = aioredis.BlockingConnectionPool.from_url(
            url, timeout=options.get("socket_timeout"), **options
        )
        return aioredis.Redis(connection_pool=pool, retry=_retry(AsyncRetry, url))
    target = parse_sentinel_url(url)
    sentinel = AsyncSentinel(list(target.sentinels), **_sentinel_options(options))  # type: ignore[no-untyped-call]
    client: aioredis.Redis = sentinel.master_for(
        target.master, retry=_retry(AsyncRetry, url), **_node_options(target, options)
    )
    return client


def describe(url: str) -> str:
    """The target in words for logs and error sentences, without any password."""
    if is_sentinel(url):
        target = parse_sentinel_url(url)
        hosts = ",".join(f"{h}:{p}" for h, p in target.sentinels)
        return f"master {target.master!r} of Sentinels {hosts}"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def _retry(kind: Any, url: str, *, patient: bool = False) -> Any:
    if is_sentinel(url):
        (base, cap), retries = SENTINEL_BACKOFF, SENTINEL_RETRIES
    elif patient:
        (base, cap), retries = PATIENT_BACKOFF, PATIENT_RETRIES
    else:
        (base, cap), retries = PLAIN_BACKOFF, PLAIN_RETRIES
    return kind(ExponentialBackoff(cap=cap, base=base), retries)


def _sentinel_options(options: dict[str, Any]) -> dict[str, Any]:
    timeouts = ("socket_timeout", "socket_connect_timeout")
    return {"sentinel_kwargs": {k: options[k] for k in timeouts if k in options}}


def _node_options(target: SentinelTarget, options: dict[str, Any]) -> dict[str, Any]:
    node = {**options, "db": target.db}
    if target.password is not None:
        node["password"] = target.password
    if target.username is not None:
        node["username"] = target.username
    return node
