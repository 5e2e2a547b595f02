"""Watching a job live over a WebSocket: real Redis, real worker, signed tickets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app import events, tickets
from app.events import EventHub
from app.main import create_app
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import EDITOR, OUTSIDER, run_jobs


def submit_pdf(client: TestClient) -> dict:
    response = client.post(
        "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    assert response.status_code == 202
    return response.json()


def ws_path(events_url: str) -> str:
    return events_url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def receive_until_closed(ws) -> list[dict]:
    messages = []
    while True:
        try:
            messages.append(ws.receive_json())
        except WebSocketDisconnect as closed:
            assert closed.code == 1000
            return messages


def test_a_watcher_sees_the_job_run_in_order(client, worker):
    accepted = submit_pdf(client)
    assert accepted["eventsUrl"].startswith("ws://testserver/jobs/")
    with client.websocket_connect(ws_path(accepted["eventsUrl"])) as ws:
        first = ws.receive_json()
        assert (first["jobId"], first["status"], first["progress"]) == (
            accepted["jobId"],
            "queued",
            0,
        )
        run_jobs(worker)
        rest = receive_until_closed(ws)
    statuses = [m["status"] for m in rest]
    assert statuses[0] == "running" and statuses[-1] == "succeeded"
    assert set(statuses) == {"running", "succeeded"}
    progress = [m["progress"] for m in rest]
    assert progress == sorted(progress) and progress[-1] == 100
    assert len({m["stage"] for m in rest}) >= 3  # starting, fetching, rendering, upload, done
    assert rest[-1]["resultMediaId"] is not None
    assert set(rest[-1]) == {"jobId", "status", "progress", "stage", "error", "resultMediaId", "at"}


def test_a_finished_job_sends_its_state_and_closes(client, worker):
    accepted = submit_pdf(client)
    run_jobs(worker)
    with client.websocket_connect(ws_path(accepted["eventsUrl"])) as ws:
        messages = receive_until_closed(ws)
    assert [m["status"] for m in messages] == ["succeeded"]


def test_the_authorization_header_works_instead_of_a_ticket(client):
    job_id = submit_pdf(client)["jobId"]
    with client.websocket_connect(
        f"/jobs/{job_id}/events", headers={"Authorization": EDITOR}
    ) as ws:
        assert ws.receive_json()["status"] == "queued"


@pytest.mark.parametrize(
    "make_ticket",
    [
        lambda key, job_id: tickets.issue(key, job_id, ttl_s=-1),  # expired
        lambda key, job_id: tickets.issue(b"another key", job_id),  # forged
        lambda key, job_id: tickets.issue(key, "another-job"),  # for another job
        lambda key, job_id: "garbage",
    ],
)
def test_bad_tickets_are_a_policy_violation(client, make_ticket):
    job_id = submit_pdf(client)["jobId"]
    ticket = make_ticket(client.app.state.ticket_key, job_id)
    with (
        client.websocket_connect(f"/jobs/{job_id}/events?ticket={ticket}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


@pytest.mark.parametrize("headers", [{}, {"Authorization": OUTSIDER}])
def test_callers_who_cannot_read_the_project_are_refused(client, headers):
    job_id = submit_pdf(client)["jobId"]
    with (
        client.websocket_connect(f"/jobs/{job_id}/events", headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_tickets_expire():
    key = tickets.ticket_key("k")
    ticket = tickets.issue(key, "j1", ttl_s=300, now=1000)
    tickets.verify(key, ticket, "j1", now=1299)
    with pytest.raises(tickets.TicketError, match="expired"):
        tickets.verify(key, ticket, "j1", now=1301)


def test_a_slow_watcher_is_dropped_not_buffered(redis, settings):
    async def scenario() -> tuple[bool, bool, int]:
        hub = EventHub(settings.redis_url or "", queue_size=3)
        await hub.start()
        try:
            async with hub.watch("job-1") as slow, hub.watch("job-1") as fast:
                for n in range(10):
                    redis.publish("export:events:job-1", f'{{"n": {n}}}')
                    await asyncio.wait_for(fast.queue.get(), 2)  # the fast one keeps up
                return slow.overflowed, fast.overflowed, slow.queue.qsize()
        finally:
            await hub.stop()

    slow_overflowed, fast_overflowed, buffered = asyncio.run(scenario())
    assert slow_overflowed and not fast_overflowed
    assert buffered == 3  # bounded: the rest was not kept


def test_many_watchers_share_one_subscription(redis, settings):
    async def scenario() -> tuple[int, int]:
        hub = EventHub(settings.redis_url or "")
        await hub.start()
        try:
            async with hub.watch("a") as w1, hub.watch("a") as w2, hub.watch("b") as w3:
                count = int(redis.execute_command("PUBSUB", "NUMSUB", "export:events:a")[1])
                redis.publish("export:events:a", "x")
                deadline = time.monotonic() + 2
                while (w1.queue.empty() or w2.queue.empty()) and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                return count, w1.queue.qsize() + w2.queue.qsize() + w3.queue.qsize()
        finally:
            await hub.stop()

    subscribers, delivered = asyncio.run(scenario())
    assert subscribers == 1
    assert delivered == 2


def test_watchers_of_many_jobs_connecting_at_once_all_hear_their_job(redis, settings):
    async def scenario() -> list[int]:
        hub = EventHub(settings.redis_url or "")
        await hub.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                watchers = await asyncio.gather(
                    *(stack.enter_async_context(hub.watch(f"job-{n % 5}")) for n in range(20))
                )
                for n in range(5):
                    redis.publish(f"export:events:job-{n}", "x")
                deadline = time.monotonic() + 2
                while any(w.queue.empty() for w in watchers) and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                return [w.queue.qsize() for w in watchers]
        finally:
            await hub.stop()

    assert asyncio.run(scenario()) == [1] * 20


def test_after_a_lost_connection_watchers_are_told_to_reread_the_state(redis, settings):
    """Events published while the pub/sub connection is down are gone: once redis-py has
    reconnected and re-subscribed, every watcher gets RESYNC (and nothing before that)."""
    from app.events import RESYNC

    async def scenario() -> tuple[int, str, str]:
        hub = EventHub(settings.redis_url or "")
        await hub.start()
        try:
            async with hub.watch("job-1") as watcher:
                before = watcher.queue.qsize()
                redis.client_kill_filter(_type="pubsub")
                first = await asyncio.wait_for(watcher.queue.get(), 10)
                redis.publish("export:events:job-1", "after")  # the subscription is back
                second = await asyncio.wait_for(watcher.queue.get(), 5)
                return before, first, second
        finally:
            await hub.stop()

    assert asyncio.run(scenario()) == (0, RESYNC, "after")


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread; yields its ws:// origin."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # No log_config, no log_level: uvicorn must not reconfigure the logging of later tests.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class StalledClient:
    """A WebSocket client on a raw socket with a small receive buffer that stops reading
    after the handshake, as a browser tab on a stalled network does."""

    def __init__(self, origin: str, path: str) -> None:
        host, port = origin.removeprefix("ws://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def frames(self, timeout_s: float) -> Iterator[tuple[int, bytes]]:
        """Read again: every (opcode, payload) up to the server's close frame."""
        self.sock.settimeout(timeout_s)
        while chunk := self.sock.recv(1 << 20):
            self.buffer += chunk
            while (frame := self._next_frame()) is not None:
                yield frame
                if frame[0] == 0x8:
                    self.sock.close()
                    return

    def _next_frame(self) -> tuple[int, bytes] | None:
        data = self.buffer
        if len(data) < 2:
            return None
        opcode, length, at = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            length, at = int.from_bytes(data[2:4]), 4
        elif length == 127:
            length, at = int.from_bytes(data[2:10]), 10
        if len(data) < at + length:
            return None
        self.buffer = data[at + length :]
        return opcode, data[at : at + length]


@pytest.mark.slow
def test_a_client_too_slow_to_keep_up_is_dropped_with_1013(settings, redis, payload, monkeypatch):
    monkeypatch.setattr(events, "SEND_TIMEOUT_S", 0.5)
    app = create_app(settings, redis=redis)
    store = JobStore(redis, ttl_s=60)
    store.create(JobState(job_id="job-slow", type=ExportType.PROJECT_PDF, project_id=17))
    with served(app) as origin:
        client = StalledClient(origin, events.events_path("job-slow", app.state.ticket_key))
        time.sleep(0.3)  # the first state is sent
        for n in range(100):  # ~10 MB of events it does not read: more than TCP buffers hold
            store.update("job-slow", status=JobStatus.RUNNING, stage=f"{n:03d}" + "x" * 100_000)
        time.sleep(1.5)  # past SEND_TIMEOUT_S with a send blocked
        frames = list(client.frames(timeout_s=10))
    texts = [json.loads(payload) for opcode, payload in frames if opcode == 0x1]
    opcode, close = frames[-1]
    assert opcode == 0x8
    assert (int.from_bytes(close[:2]), close[2:]) == (1013, b"client too slow")
    assert texts[0]["status"] == "queued"
    assert len(texts) < 101  # dropped, not everything buffered for it


@pytest.mark.parametrize(
    ("failure", "code"),
    [(RedisConnectionError("Too many connections"), 1013), (RuntimeError("boom"), 1011)],
)
def test_a_failing_look_up_closes_the_socket_with_a_code_not_a_crash(
    client, monkeypatch, failure, code
):
    """The app's error handlers are WebSocket-safe: a close frame, never a dropped socket."""
    accepted = submit_pdf(client)

    async def failing(services, job_id):
        raise failure

    monkeypatch.setattr(events, "lookup_job", failing)
    with (
        client.websocket_connect(ws_path(accepted["eventsUrl"])) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == code
