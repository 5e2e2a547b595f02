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

from jobs import queue
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import leftovers, process_env

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def start_worker(settings, redis_server, fake_payload, **env_extra: str) -> subprocess.Popen:
    redis_url = f"unix://{redis_server.socket_file}"
    env = process_env(
        fake_payload.url, redis_url, settings.temp_dir, LOG_FORMAT="text", **env_extra
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.slow_worker"], cwd=REPO, env=env, start_new_session=True
    )


def queue_zip(settings, redis, fake_payload, job_id: str) -> None:
    doc = fake_payload.stub.add(
        "export-requests", {"type": "project-zip", "project": 17, "status": "queued"}
    )
    state = JobState(
        job_id=job_id, type=ExportType.PROJECT_ZIP, project_id=17, request_doc_id=doc["id"]
    )
    queue.submit(redis, settings, state)


def sigterm_midway(worker: subprocess.Popen, store: JobStore, job_id: str) -> int:
    """SIGTERM to the worker's whole group while the job is at work; its exit status."""
    try:
        wait_for(lambda: store.get(job_id).stage == "slow work")
        os.killpg(worker.pid, signal.SIGTERM)  # the whole group, as a PaaS does
        return worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()


@pytest.mark.slow
def test_sigterm_fails_a_job_that_outlives_the_grace_period(
    settings, redis, redis_server, fake_payload
):
    queue_zip(settings, redis, fake_payload, "slow-1")
    worker = start_worker(settings, redis_server, fake_payload, EXPORT_SHUTDOWN_GRACE_S="1")
    store = JobStore(redis, ttl_s=60)
    assert sigterm_midway(worker, store, "slow-1") == 0

    finished = store.get("slow-1")
    assert finished.status is JobStatus.FAILED
    assert finished.error.startswith(
        "the worker was shut down and the export did not finish within the 1 s grace period"
    )
    assert fake_payload.stub.docs("export-requests")[0]["status"] == "failed"
    assert leftovers(settings.temp_dir) == []


@pytest.mark.slow
def test_sigterm_lets_a_job_that_ends_inside_the_grace_period_finish(
    settings, redis, redis_server, fake_payload
):
    queue_zip(settings, redis, fake_payload, "quick-1")
    worker = start_worker(
        settings, redis_server, fake_payload, EXPORT_SHUTDOWN_GRACE_S="20", SLOW_EXPORT_S="1.5"
    )
    store = JobStore(redis, ttl_s=60)
    started = time.monotonic()
    assert sigterm_midway(worker, store, "quick-1") == 0
    assert time.monotonic() - started < 15  # it left once the job was done, not at the grace

    finished = store.get("quick-1")
    assert (finished.status, finished.error) == (JobStatus.SUCCEEDED, None)
    [doc] = fake_payload.stub.docs("export-requests")
    assert (doc["status"], doc["result"]) == ("succeeded", finished.result_media_id)
    uploaded = fake_payload.stub.collections["media"][finished.result_media_id]
    assert uploaded["mimeType"] == "application/zip"
    assert leftovers(settings.temp_dir) == []
