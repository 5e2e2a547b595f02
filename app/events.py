"""Live job events: one Redis subscription per web process, fanned out to WebSockets.

Workers publish every state change on `export:events:<jobId>` (see `jobs.state`). The
`EventHub` holds a single pub/sub connection for the whole process and subscribes to a
job's channel while at least one socket watches it, so hundreds of watchers cost Redis one
connection and the workers nothing. Each watcher has a bounded queue: a client too slow to
keep up is dropped (close 1013), never buffered for ever.

Pub/sub is fire-and-forget: events published while the connection is down (a Redis restart,
a Sentinel failover) never arrive. redis-py reconnects and re-subscribes by itself; the hub
then tells every watcher to re-read the job's state (`RESYNC`), so a socket catches up with
what it missed, its terminal state included, instead of waiting for ever.

`WS /jobs/{jobId}/events` accepts the signed ticket from `eventsUrl` or the usual
Authorization header, sends the current state at once, then each change, and closes
normally (1000) after the terminal state. Anything else is refused with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import tickets
from app.errors import APIError, close_for
from app.job_lookup import lookup_job
from jobs import connection as redis_connection
from jobs.state import EVENTS_PREFIX, TERMINAL_STATUSES, event_of

logger = logging.getLogger(__name__)

WATCHER_QUEUE_SIZE = 256
SEND_TIMEOUT_S = 10.0
RECONNECT_DELAY_S = 1.0
CLOSE_NORMAL = 1000
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013
TERMINAL = {status.value for status in TERMINAL_STATUSES}
#: Put on a watcher's queue after a reconnect: "read the state again, you may have missed some".
RESYNC = "\x00resync"


class Watcher:
    """One socket's view of one job: a bounded queue of event messages."""

    def __init__(self, job_id: str, size: int) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def offer(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True


class _ResyncingPubSub(PubSub):
    """redis-py calls `on_connect` on every reconnect and re-subscribes there; this one then
    also has the hub resync its watchers, the subscriptions being back."""

    def __init__(self, pool: Any, *, hub: EventHub) -> None:
        super().__init__(pool, ignore_subscribe_messages=True)
        self.hub = hub

    async def on_connect(self, connection: Any) -> None:
        await super().on_connect(connection)
        self.hub.resync()


class EventHub:
    """Fans out job events from one Redis pub/sub connection to many watchers."""

    def __init__(self, redis_url: str, *, queue_size: int = WATCHER_QUEUE_SIZE) -> None:
        self.redis_url = redis_url
        self.queue_size = queue_size
        self._watchers: dict[str, set[Watcher]] = {}
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        # redis-py's async PubSub opens its connection lazily on the first command, and
        # concurrent first commands would each open one: subscribe one at a time.
        self._lock = asyncio.Lock()
        self._subscribed: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        # No socket timeout: the pub/sub connection idles between events by design.
        self._client = redis_connection.connect_async(self.redis_url, socket_timeout=None)
        self._pubsub = _ResyncingPubSub(self._client.connection_pool, hub=self)
        self._task = asyncio.create_task(self._pump(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._client is not None:
            await self._client.aclose()

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[Watcher]:
        watcher = Watcher(job_id, self.queue_size)
        first = job_id not in self._watchers
        self._watchers.setdefault(job_id, set()).add(watcher)
        try:
            if first:
                self._subscribed[job_id] = asyncio.Event()
                async with self._lock:
                    await self._pubsub.subscribe(EVENTS_PREFIX + job_id)
                self._subscribed[job_id].set()
            # Later watchers wait too, so nobody reads the state before events can arrive.
            await self._subscribed[job_id].wait()
            yield watcher
        finally:
            watchers = self._watchers.get(job_id, set())
            watchers.discard(watcher)
            if not watchers:
                self._watchers.pop(job_id, None)
                self._subscribed.pop(job_id, None)
                with contextlib.suppress(RedisError, RuntimeError):
                    async with self._lock:
                        await self._pubsub.unsubscribe(EVENTS_PREFIX + job_id)

    def resync(self) -> None:
        """Ask every watcher to re-read its job's state (events may have been missed)."""
        logger.info("event hub: reconnected to Redis; %d watcher(s) resync", self.watcher_count())
        for watchers in list(self._watchers.values()):
            for watcher in list(watchers):
                watcher.offer(RESYNC)

    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    async def _pump(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                logger.warning("event hub: Redis connection lost (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            if message and message.get("type") == "message":
                self._dispatch(message["channel"], message["data"])

    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        text = data.decode() if isinstance(data, bytes) else data
        for watcher in list(self._watchers.get(name.removeprefix(EVENTS_PREFIX), ())):
            watcher.offer(text)


async def job_events(websocket: WebSocket) -> None:
    """`WS /jobs/{jobId}/events`."""
    job_id = websocket.path_params["job_id"]
    await websocket.accept()
    services = websocket.app.state.services
    try:
        await _authorize(websocket, job_id)
        hub: EventHub = websocket.app.state.events
        async with hub.watch(job_id) as watcher:
            state = await lookup_job(services, job_id)
            first = event_of(state)
            await websocket.send_text(json.dumps(first))
            if first["status"] not in TERMINAL:
                await _forward(websocket, watcher, services)
        await websocket.close(CLOSE_NORMAL)
    except APIError as exc:
        await websocket.close(CLOSE_POLICY_VIOLATION, reason=exc.message[:120])
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        # A socket always gets a close frame: the error handlers answer HTTP only.
        code, reason = close_for(exc)
        log = logger.warning if code == CLOSE_TRY_AGAIN_LATER else logger.error
        log("job %s: watcher closed with %d: %r", job_id, code, exc, extra={"jobId": job_id})
        with contextlib.suppress(RuntimeError):  # the client may be gone already
            await websocket.close(code, reason=reason)


async def _authorize(websocket: WebSocket, job_id: str) -> None:
    """A valid ticket for this job, or credentials that can read the job's project."""
    ticket = websocket.query_params.get("ticket")
    if ticket:
        try:
            tickets.verify(websocket.app.state.ticket_key, ticket, job_id)
        except tickets.TicketError as exc:
            raise APIError(401, "invalid_ticket", str(exc)) from exc
        return
    auth = websocket.app.state.auth
    caller = await auth.caller(websocket)
    state = await lookup_job(websocket.app.state.services, job_id)
    await auth.require_project(caller, state.project_id)


async def _forward(websocket: WebSocket, watcher: Watcher, services: Any) -> None:
    receiver = asyncio.create_task(_until_disconnect(websocket))
    try:
        async for event in _messages(watcher, receiver):
            message = event
            if event == RESYNC:
                message = json.dumps(event_of(await lookup_job(services, watcher.job_id)))
            await asyncio.wait_for(websocket.send_text(message), SEND_TIMEOUT_S)
            if json.loads(message).get("status") in TERMINAL:
                return
    except TimeoutError:
        await websocket.close(CLOSE_TRY_AGAIN_LATER, reason="client too slow")
        raise WebSocketDisconnect(CLOSE_TRY_AGAIN_LATER) from None
    finally:
        receiver.cancel()


async def _messages(watcher: Watcher, receiver: asyncio.Task[None]) -> AsyncIterator[str]:
    while True:
        getter = asyncio.ensure_future(watcher.queue.get())
        done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if receiver in done:
            getter.cancel()
            raise WebSocketDisconnect(CLOSE_NORMAL)
        if watcher.overflowed:
            raise TimeoutError
        yield getter.result()


async def _until_disconnect(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def events_path(job_id: str, key: bytes) -> str:
    return f"/jobs/{job_id}/events?ticket={tickets.issue(key, job_id)}"
