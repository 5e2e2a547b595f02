"""`POST /jobs/{id}/cancel`: queued jobs never start, running ones stop at a checkpoint."""

from __future__ import annotations

from jobs.state import JobStatus, JobStore
from tests.conftest import EDITOR, OUTSIDER, run_jobs


def submit(client, kind="project-pdf"):
    response = client.post(
        f"/exports/{kind}", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    return response.json()


def cancel(client, job_id, auth=EDITOR):
    return client.post(f"/jobs/{job_id}/cancel", headers={"Authorization": auth})


def test_a_queued_job_is_cancelled_at_once_and_never_starts(client, payload, worker, redis):
    accepted = submit(client)
    response = cancel(client, accepted["jobId"])
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert response.json()["error"] == "cancelled by editor@example.com"
    run_jobs(worker)
    state = JobStore(redis, ttl_s=60).get(accepted["jobId"])
    assert state.status is JobStatus.CANCELLED and state.started_at is None
    [doc] = payload.docs("export-requests")
    assert (doc["status"], doc["error"]) == ("cancelled", "cancelled by editor@example.com")
    assert [m for m in payload.docs("media") if m.get("exportType")] == []


def test_a_running_job_stops_at_its_next_checkpoint(client, payload, worker, redis, settings):
    accepted = submit(client, "project-zip")
    JobStore(redis, ttl_s=60).update(accepted["jobId"], status=JobStatus.RUNNING)
    response = cancel(client, accepted["jobId"])
    assert response.status_code == 202 and response.json()["status"] == "running"

    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(accepted["jobId"])
    assert state.status is JobStatus.CANCELLED
    assert state.error == "cancelled by editor@example.com"
    assert list(settings.temp_dir.iterdir()) == []
    assert [m for m in payload.docs("media") if m.get("exportType")] == []


def test_a_finished_job_cannot_be_cancelled(client, worker):
    accepted = submit(client)
    run_jobs(worker)
    response = cancel(client, accepted["jobId"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"


def test_only_callers_who_can_read_the_project_may_cancel(client):
    accepted = submit(client)
    assert cancel(client, accepted["jobId"], auth=OUTSIDER).status_code == 404
    assert client.post(f"/jobs/{accepted['jobId']}/cancel").status_code == 401
