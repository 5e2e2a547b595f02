"""Redis fails over during a running export: master + replica + Sentinel, all real.

The web app (in this process) and a worker (a separate process) reach Redis only through
Sentinel (`redis+sentinel://`). While an export runs and a browser-like client watches it
over the WebSocket, the master is SIGKILLed and Sentinel promotes the replica. The export
carries on and succeeds, the socket sees it through to `succeeded`, Payload gets exactly one
result, and the service takes new exports on the new master.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Secret
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings
from jobs import connection
from jobs.state import JobStore
from tests.conftest import EDITOR, process_env
from tests.payload_stub import SERVICE_KEY
from tests.redis_sentinel import sentinel_setup, wait_until

pytestmark = pytest.mark.failover
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sentinels(tmp_path):
    with sentinel_setup(tmp_path / "redis") as setup:
        yield setup


@pytest.fixture
def worker(sentinels, fake_payload, tmp_path):
    env = process_env(
        fake_payload.url, sentinels.url, tmp_path, LOG_FORMAT="text", STEADY_STEPS="60"
    )
    log = (tmp_path / "worker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.steady_worker"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # still retrying the old master: the test has its answer
        process.kill()
        process.wait(timeout=10)


def watch(client: TestClient, events_url: str, into: list[dict[str, Any]]) -> threading.Thread:
    path = "/" + events_url.split("://", 1)[1].split("/", 1)[1]

    def receive() -> None:
        with client.websocket_connect(path) as ws:
            while True:
                try:
                    into.append(ws.receive_json())
                except WebSocketDisconnect as closed:
                    into.append({"closed": closed.code})
                    return

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    return thread


def submit(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_an_export_and_its_live_socket_ride_over_a_failover(
    sentinels, fake_payload, worker, tmp_path
):
    settings = Settings(
        payload_url=fake_payload.url,
        payload_api_key=Secret(SERVICE_KEY),
        redis_url=sentinels.url,
        temp_dir=tmp_path,
    )
    store = JobStore(connection.connect(sentinels.url), ttl_s=60)
    events: list[dict[str, Any]] = []
    with TestClient(create_app(settings)) as client:
        job = submit(client)
        watcher = watch(client, job["eventsUrl"], events)
        wait_until(lambda: store.get(job["jobId"]).progress >= 10, 30, "the export's start")
        took_s = sentinels.kill_master()
        watcher.join(timeout=90)
        assert not watcher.is_alive(), f"the socket never ended; it saw {events}"
        after = client.get(f"/jobs/{job['jobId']}", headers={"Authorization": EDITOR}).json()
        second = submit(client)  # the service takes new work on the new master
        wait_until(lambda: store.get(second["jobId"]).status == "succeeded", 60, "a new export")

    assert took_s < 20
    progress = [e["progress"] for e in events[:-1]]
    assert progress == sorted(progress), "the socket went back in time"
    assert events[-1] == {"closed": 1000}
    assert events[-2]["status"] == "succeeded", events
    assert after["status"] == "succeeded" and after["resultMediaId"] is not None
    docs = {d["id"]: d for d in fake_payload.stub.docs("export-requests")}
    assert docs[job["exportRequestId"]]["status"] == "succeeded"
    results = [
        m
        for m in fake_payload.stub.docs("media")
        if m.get("exportRequest") == job["exportRequestId"]
    ]
    assert len(results) == 1  # uploaded once: nothing lost, nothing doubled
    assert sentinels.master_port() == sentinels.ports["replica"]
