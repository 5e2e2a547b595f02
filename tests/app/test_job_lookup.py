"""`GET /jobs/{id}` reads Redis while the job is live and Payload once Redis has let it go,
EXPORT_JOB_TTL_S after the job's last change (here 3 s)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from rq import Queue, SimpleWorker
from starlette.testclient import TestClient

from app.main import connect_redis, create_app
from jobs import runtime
from jobs.progress import Progress
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import EDITOR, run_jobs

SHORT_TTL_S = 3


@pytest.fixture
def short_ttl(settings, redis, payload) -> Iterator[tuple[TestClient, SimpleWorker]]:
    """The web app and a worker, both with EXPORT_JOB_TTL_S=3."""
    short = replace(settings, job_ttl_s=SHORT_TTL_S)
    runtime.install(runtime.build(short, redis))
    worker = SimpleWorker([Queue(n, connection=redis) for n in short.queues], connection=redis)
    try:
        with TestClient(create_app(short, redis=redis)) as client:
            yield client, worker
    finally:
        runtime.install(None)


def get_job(client: TestClient, job_id: str):
    return client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR})


@pytest.mark.slow
def test_a_finished_job_expires_from_redis_and_is_then_read_from_payload(short_ttl, redis, payload):
    client, worker = short_ttl
    accepted = client.post(
        "/exports/project-zip", json={"projectId": 17}, headers={"Authorization": EDITOR}
    ).json()
    run_jobs(worker)
    key = f"export:job:{accepted['jobId']}"
    live = get_job(client, accepted["jobId"])
    assert 0 < redis.pttl(key) <= SHORT_TTL_S * 1000
    deadline = time.monotonic() + SHORT_TTL_S + 3
    while redis.exists(key):
        assert time.monotonic() < deadline, f"{key} outlived EXPORT_JOB_TTL_S"
        time.sleep(0.05)
    calls_before = len(payload.mock.calls)
    later = get_job(client, accepted["jobId"])

    assert live.status_code == later.status_code == 200
    assert live.json()["status"] == later.json()["status"] == "succeeded"
    assert later.json()["resultMediaId"] == live.json()["resultMediaId"] is not None
    asked = [call.request.url for call in payload.mock.calls[calls_before:]]
    assert any("/api/export-requests?" in url for url in asked), asked


def test_a_job_whose_state_expired_while_queued_is_not_left_half_written(redis, settings):
    store = JobStore(redis, ttl_s=60)
    store.create(JobState(job_id="job-e", type=ExportType.PROJECT_PDF, project_id=17))
    redis.delete("export:job:job-e")  # what EXPORT_JOB_TTL_S does to a job queued too long
    with contextlib.suppress(Exception):  # however it reports the expiry
        store.update("job-e", stage="starting")
    leftover = redis.hgetall("export:job:job-e")
    assert leftover == {} or b"type" in leftover, leftover


def test_redis_down_while_payload_is_up_answers_from_the_export_request(settings, payload):
    payload.add(
        "export-requests",
        {"id": 5, "type": "project-pdf", "project": 17, "status": "succeeded", "progress": 100,
         "jobId": "job-abc123", "params": {}, "result": None},
    )  # fmt: skip
    dead = connect_redis(replace(settings, redis_url="unix:///nonexistent/redis.sock"))
    with TestClient(create_app(settings, redis=dead)) as client:
        response = client.get("/jobs/job-abc123", headers={"Authorization": EDITOR})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded"
        assert response.json()["projectId"] == 17
        missing = client.get("/jobs/job-nope", headers={"Authorization": EDITOR})
        assert missing.status_code == 404


def test_a_job_that_expired_while_queued_is_written_whole_again_when_it_starts(
    redis, settings, payload
):
    rt = runtime.build(settings, redis)
    state = JobState(job_id="job-f", type=ExportType.PROJECT_PDF, project_id=17)
    rt.store.create(state)
    redis.delete("export:job:job-f")  # EXPORT_JOB_TTL_S passed while it waited
    Progress(rt, state).start()
    again = rt.store.get("job-f")
    assert again is not None and again.type is ExportType.PROJECT_PDF
    assert again.status is JobStatus.RUNNING
