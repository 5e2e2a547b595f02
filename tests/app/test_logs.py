"""The log format: one JSON object a line, ids on every line, request ids, no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from app.logs import REDACTED, Redactor, log_context, setup_logging
from app.settings import Settings, SettingsError, load_settings
from tests.app.test_webhooks import admin_request, delivery, post
from tests.conftest import EDITOR, WEBHOOK_SECRET, run_jobs
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY

FIELDS = {"time", "level", "logger", "message", "jobId", "projectId", "requestId"}


@pytest.fixture
def log(settings: Settings) -> Iterator[io.StringIO]:
    """Everything logged during the test, through the service's own handler, at DEBUG."""
    stream = io.StringIO()
    setup_logging(settings, stream=stream, level="DEBUG")
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.name == "export-service"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_full_run_logs_json_with_ids_and_never_a_secret(
    client: TestClient, payload, worker, log: io.StringIO
) -> None:
    submitted = client.post(
        "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    assert submitted.status_code == 202
    rest_job = submitted.json()["jobId"]
    doc = admin_request(payload)
    assert post(client, delivery(doc)).status_code == 202
    run_jobs(worker)
    assert doc["status"] == "succeeded"

    raw = log.getvalue()
    for secret in (SERVICE_KEY, WEBHOOK_SECRET, EDITOR_KEY):
        assert secret not in raw
    records = lines(log)  # every line parses as JSON
    assert all(record.keys() >= FIELDS for record in records)
    job_lines = [r for r in records if r["logger"].startswith("jobs.")]
    assert {r["jobId"] for r in job_lines} == {rest_job, doc["jobId"]}
    assert all(r["projectId"] == 17 for r in job_lines)
    (done,) = [r for r in job_lines if r["jobId"] == rest_job and "succeeded" in r["message"]]
    assert done["duration"] > 0
    requests = [r for r in records if r["logger"] == "app.logs"]
    assert len(requests) == 2 and all(r["requestId"] and "duration" in r for r in requests)


def test_the_request_id_is_echoed_or_made(client: TestClient, log: io.StringIO) -> None:
    given = client.get("/health", headers={"X-Request-ID": "edge-7f3a.42"})
    assert given.headers["X-Request-ID"] == "edge-7f3a.42"
    made = client.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    hostile = client.get("/health", headers={"X-Request-ID": 'a b"<script>' + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])
    logged = [r["requestId"] for r in lines(log) if r["logger"] == "app.logs"]
    assert logged == ["edge-7f3a.42", made.headers["X-Request-ID"], hostile.headers["X-Request-ID"]]


def test_credentials_and_configured_secrets_are_redacted(
    settings: Settings, log: io.StringIO
) -> None:
    careless = logging.getLogger("tests.careless")
    careless.warning("calling with Authorization: users API-Key %s", "k3y-0123456789")
    careless.warning("Bearer eyJhbGciOi.payload.sig and JWT abc.def.ghi")
    careless.warning("the key is %s", SERVICE_KEY)
    try:
        raise ValueError(f"webhook secret {WEBHOOK_SECRET} rejected")
    except ValueError:
        careless.exception("failed")
    raw = log.getvalue()
    for leaked in ("k3y-0123456789", "eyJhbGciOi", "abc.def.ghi", SERVICE_KEY, WEBHOOK_SECRET):
        assert leaked not in raw
    first, second, third, fourth = lines(log)
    assert first["message"] == f"calling with Authorization: users API-Key {REDACTED}"
    assert second["message"] == f"Bearer {REDACTED} and JWT {REDACTED}"
    assert third["message"] == f"the key is {REDACTED}"
    assert REDACTED in fourth["exception"]


def test_job_context_reaches_every_line_inside_it(log: io.StringIO) -> None:
    with log_context(job_id="job-1", project_id=17):
        logging.getLogger("jobs.anything").info("inside")
    logging.getLogger("jobs.anything").info("outside")
    inside, outside = lines(log)
    assert (inside["jobId"], inside["projectId"]) == ("job-1", 17)
    assert (outside["jobId"], outside["projectId"]) == (None, None)


def test_text_format_for_people(settings: Settings, log: io.StringIO) -> None:
    stream = io.StringIO()
    setup_logging(replace(settings, log_format="text"), stream=stream)
    with log_context(job_id="job-2", project_id=5):
        logging.getLogger("jobs.runner").warning("slow")
    assert re.fullmatch(
        r"\S+ \S+ WARNING jobs.runner slow \[jobId=job-2 projectId=5\]\n", stream.getvalue()
    )


def test_the_redactor_prefers_the_longest_secret() -> None:
    redactor = Redactor(["abcd", "abcdefgh", "xy"])
    assert redactor.redact("abcdefgh abcd xy") == f"{REDACTED} {REDACTED} xy"
    assert Redactor([str(Secret(""))]).secrets == []


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD")])
def test_log_settings_are_validated(name: str, value: str) -> None:
    env = {"PAYLOAD_URL": "http://payload.test", "PAYLOAD_API_KEY": "key-0123", name: value}
    with pytest.raises(SettingsError, match=f"^{name}="):
        load_settings(env, env_file=None)


def test_socket_handshake_urls_are_logged_without_their_ticket(
    settings: Settings, redis, payload, log: io.StringIO
) -> None:
    """Through a real uvicorn: it logs every WebSocket handshake with its URL."""
    import asyncio
    import threading

    import uvicorn
    import websockets

    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, redis=redis), port=0, log_config=None, ws="websockets-sansio"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    ticket = "1767000000.job-1.secret-ticket-signature-0123456789"

    async def handshake() -> None:
        url = f"ws://127.0.0.1:{port}/jobs/job-1/events?ticket={ticket}"
        try:
            async with websockets.connect(url) as socket:
                await socket.recv()
        except websockets.WebSocketException:
            pass

    try:
        asyncio.run(handshake())
    finally:
        server.should_exit = True
        thread.join(10)
    raw = log.getvalue()
    assert "WebSocket /jobs/job-1/events?ticket=" in raw  # the handshake was logged …
    assert "secret-ticket-signature" not in raw  # … without the ticket
