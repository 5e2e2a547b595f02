"""A worker told to stop (SIGTERM) lets the job in hand finish, or past the grace period
fails it with a sentence saying so; a signal to the whole group cannot kill it mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.fake_payload import FakePayload
from jobs import queue
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.payload_stub import SERVICE_KEY, PayloadStub, seed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_payload():
    stub = PayloadStub(None)
    seed(stub)
    fake = FakePayload(stub).start()
    yield fake
    fake.close()


def wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_fails_a_job_that_outlives_the_grace_period(
    settings, redis, redis_server, fake_payload
):
    doc = fake_payload.stub.add(
        "export-requests", {"type": "project-zip", "project": 17, "status": "queued"}
    )
    state = JobState(
        job_id="slow-1", type=ExportType.PROJECT_ZIP, project_id=17, request_doc_id=doc["id"]
    )
    queue.submit(redis, settings, state)
    env = {
        **os.environ,
        "PAYLOAD_URL": fake_payload.url,
        "PAYLOAD_API_KEY": SERVICE_KEY,
        "REDIS_URL": f"unix://{redis_server.socket_file}",
        "EXPORT_SHUTDOWN_GRACE_S": "1",
        "EXPORT_TEMP_DIR": str(settings.temp_dir),
        "PYTHONPATH": str(REPO),
        "LOG_FORMAT": "text",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.slow_worker"], cwd=REPO, env=env, start_new_session=True
    )
    store = JobStore(redis, ttl_s=60)
    try:
        wait_for(lambda: store.get("slow-1").stage == "slow work")
        os.killpg(worker.pid, signal.SIGTERM)  # the whole group, as a PaaS does
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()

    finished = store.get("slow-1")
    assert finished.status is JobStatus.FAILED
    assert finished.error.startswith(
        "the worker was shut down and the export did not finish within the 1 s grace period"
    )
    assert fake_payload.stub.docs("export-requests")[0]["status"] == "failed"
    assert list(settings.temp_dir.iterdir()) == []
