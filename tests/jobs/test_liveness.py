"""No export stays `running` for ever: dead workers are noticed, lost write-backs retried."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from jobs import liveness, runner, runtime
from jobs.liveness import Heartbeat, sweep
from jobs.progress import WRITEBACK_PENDING_KEY
from jobs.state import ExportType, JobState, JobStatus
from tests.payload_stub import PayloadStub


@pytest.fixture
def rt(settings, redis, payload):
    built = runtime.build(settings, redis)
    runtime.install(built)
    yield built
    runtime.install(None)


def running_job(rt, payload: PayloadStub, *, stage: str = "rendering") -> JobState:
    doc = payload.add(
        "export-requests",
        {"type": "project-pdf", "project": 17, "status": "running", "jobId": "job-1"},
    )
    state = JobState(
        job_id="job-1",
        type=ExportType.PROJECT_PDF,
        project_id=17,
        status=JobStatus.RUNNING,
        stage=stage,
        request_doc_id=doc["id"],
    )
    rt.store.create(state)
    return state


def test_a_heartbeat_marks_a_job_alive_while_it_runs(rt):
    with Heartbeat(rt.redis, "job-1", ttl_s=1):
        assert rt.redis.exists("export:heartbeat:job-1")
        assert rt.redis.sismember("export:running", "job-1")
        time.sleep(0.2)
    assert not rt.redis.exists("export:heartbeat:job-1")
    assert not rt.redis.sismember("export:running", "job-1")


def test_a_job_whose_heartbeat_stopped_is_failed_with_a_sentence(rt, payload):
    running_job(rt, payload)
    rt.redis.sadd("export:running", "job-1")  # its worker vanished: no heartbeat key

    report = sweep(rt)

    assert report.abandoned == ["job-1"]
    state = rt.store.get("job-1")
    assert state.status is JobStatus.FAILED
    expected = "the worker stopped unexpectedly during rendering; nothing was uploaded"
    assert state.error == expected
    [doc] = payload.docs("export-requests")
    assert (doc["status"], doc["error"]) == ("failed", expected)


def test_a_live_job_is_left_alone(rt, payload):
    running_job(rt, payload)
    with Heartbeat(rt.redis, "job-1", ttl_s=45):
        assert sweep(rt).abandoned == []
        assert rt.store.get("job-1").status is JobStatus.RUNNING


def test_only_one_process_sweeps_at_a_time(rt, payload):
    running_job(rt, payload)
    rt.redis.sadd("export:running", "job-1")
    rt.redis.set(liveness.SWEEP_LOCK_KEY, "1", ex=5)
    assert sweep(rt).abandoned == []


def test_a_final_state_payload_missed_is_written_once_it_is_back(rt, payload):
    state = running_job(rt, payload)
    payload.down = True
    from jobs.progress import Progress

    Progress(rt, state).fail("it broke")
    assert rt.redis.sismember(WRITEBACK_PENDING_KEY, "job-1")
    assert payload.docs("export-requests")[0]["status"] == "running"

    payload.down = False
    report = sweep(rt)

    assert report.written_back == ["job-1"]
    assert payload.docs("export-requests")[0]["error"] == "it broke"
    assert not rt.redis.sismember(WRITEBACK_PENDING_KEY, "job-1")


def _slow_build(ctx):
    ctx.progress.report("bundling", 40)
    time.sleep(60)


def _run_in_child(job_id: str) -> None:
    runner.run_export(job_id)


def test_a_worker_killed_mid_job_is_detected(settings, redis, payload, monkeypatch):
    rt = runtime.build(replace(settings, heartbeat_ttl_s=1), redis)
    runtime.install(rt)
    monkeypatch.setattr(runner, "builder_for", lambda export_type: _slow_build)
    state = JobState(job_id="job-k", type=ExportType.PROJECT_ZIP, project_id=17)
    rt.store.create(state)
    child = multiprocessing.get_context("fork").Process(target=_run_in_child, args=("job-k",))
    child.start()
    deadline = time.monotonic() + 10
    while rt.store.get("job-k").stage != "bundling" and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    time.sleep(1.2)  # the heartbeat's TTL runs out

    assert sweep(rt).abandoned == ["job-k"]
    failed = rt.store.get("job-k")
    assert failed.status is JobStatus.FAILED
    assert failed.error == "the worker stopped unexpectedly during bundling; nothing was uploaded"


@pytest.mark.slow
def test_the_web_process_fails_a_killed_workers_job_by_itself(
    settings, redis, payload, monkeypatch
):
    """No one calls sweep(): the web app's own periodic sweeper notices the dead worker."""
    fast = replace(settings, heartbeat_ttl_s=1, sweep_interval_s=0.2)
    rt = runtime.build(fast, redis)
    runtime.install(rt)
    monkeypatch.setattr(runner, "builder_for", lambda export_type: _slow_build)
    doc = payload.add("export-requests", {"type": "project-zip", "project": 17, "status": "queued"})
    rt.store.create(
        JobState(
            job_id="job-s", type=ExportType.PROJECT_ZIP, project_id=17, request_doc_id=doc["id"]
        )
    )
    child = multiprocessing.get_context("fork").Process(target=_run_in_child, args=("job-s",))
    with TestClient(create_app(fast, redis=redis)):
        child.start()
        wait_until(lambda: rt.store.get("job-s").stage == "bundling")
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        # within EXPORT_HEARTBEAT_TTL_S + EXPORT_SWEEP_INTERVAL_S (and some slack)
        wait_until(lambda: rt.store.get("job-s").status is JobStatus.FAILED, timeout_s=5)
    runtime.install(None)
    expected = "the worker stopped unexpectedly during bundling; nothing was uploaded"
    assert rt.store.get("job-s").error == expected
    assert (doc["status"], doc["error"]) == ("failed", expected)


def wait_until(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
