"""HTTP_CONNECT_TIMEOUT_S and HTTP_READ_TIMEOUT_S, against servers that stall for real:
one whose accept queue is full (connect never completes), one that never answers, and one
that stops halfway through a body. Each ends in `CMSUnavailable` close to its timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from cms_client import CMSUnavailable
from cms_client.errors import DownloadIncomplete
from cms_client.fetch import iter_checked
from jobs import runtime

CONNECT_TIMEOUT_S = 0.3
READ_TIMEOUT_S = 0.5
SLACK_S = 2.0  # shared CI machines


@contextlib.contextmanager
def full_accept_queue() -> Iterator[str]:
    """A listening socket nobody accepts on, its queue filled: new connects hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in (*fillers, server):
            sock.close()


@contextlib.contextmanager
def stalling_server(reply: bytes = b"") -> Iterator[str]:
    """Reads each request, sends `reply` (maybe nothing), then says nothing more."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            conn.sendall(reply)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for sock in (*held, server):
            sock.close()


def cms_at(settings, redis, url: str):
    timeouts = replace(
        settings,
        payload_url=url,
        http_connect_timeout_s=CONNECT_TIMEOUT_S,
        http_read_timeout_s=READ_TIMEOUT_S,
    )
    return runtime.build(timeouts, redis).cms


def timed(call, expected: type[Exception] = CMSUnavailable) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(expected) as raised:
        call()
    return raised.value, time.monotonic() - started


def test_a_connect_that_never_completes_gives_up_after_the_connect_timeout(settings, redis):
    with full_accept_queue() as url:
        error, elapsed = timed(lambda: cms_at(settings, redis, url).get("projects", 17))
    assert CONNECT_TIMEOUT_S <= elapsed < CONNECT_TIMEOUT_S + SLACK_S
    assert "ConnectTimeout" in str(error) or "timed out" in str(error), error


def test_a_server_that_never_answers_gives_up_after_the_read_timeout(settings, redis):
    with stalling_server() as url:
        error, elapsed = timed(lambda: cms_at(settings, redis, url).get("projects", 17))
    assert READ_TIMEOUT_S <= elapsed < READ_TIMEOUT_S + SLACK_S
    assert "ReadTimeout" in str(error) or "timed out" in str(error), error


def test_a_download_that_stalls_midway_gives_up_after_the_read_timeout(settings, redis):
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
    with stalling_server(headers + b"x" * 1000) as url:
        cms = cms_at(settings, redis, url)

        def download() -> None:
            with cms.stream("/api/media/file/cover.png") as response:
                for _ in iter_checked(response, url=url, max_bytes=10**6):
                    pass

        error, elapsed = timed(download, DownloadIncomplete)
    assert READ_TIMEOUT_S <= elapsed < READ_TIMEOUT_S + SLACK_S, error
    assert "broke off after" in str(error)
