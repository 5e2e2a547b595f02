"""`POST /jobs/{id}/cancel`: queued jobs never start, running ones stop at a checkpoint."""

from __future__ import annotations

from jobs.state import JobStatus, JobStore
from tests.conftest import EDITOR, OUTSIDER, leftovers, run_jobs
from tests.payload_stub import png_bytes


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


def test_a_running_job_stops_at_its_next_checkpoint(
    client, payload, worker, redis, settings, monkeypatch
):
    project = payload.collections["projects"][17]
    for n in range(6):
        extra = payload.add_media_file(f"extra-{n}.png", png_bytes(), "image/png")
        project["media"].append(extra["id"])
    response = client.post(
        "/exports/project-zip",
        json={"projectId": 17, "includeMedia": True},
        headers={"Authorization": EDITOR},
    )
    job_id = response.json()["jobId"]
    downloads: list[str] = []
    serve_file = payload._file

    def cancel_during_the_first_download(filename, user):
        downloads.append(filename)
        if len(downloads) == 1:  # the worker is midway through the bundle: cancel through REST
            answer = cancel(client, job_id)
            assert answer.status_code == 202 and answer.json()["status"] == "running"
        return serve_file(filename, user)

    monkeypatch.setattr(payload, "_file", cancel_during_the_first_download)
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(job_id)
    assert (state.status, state.error) == (JobStatus.CANCELLED, "cancelled by editor@example.com")
    assert state.started_at is not None
    assert len(downloads) <= 2, f"{len(downloads)} of {len(project['media'])} files downloaded"
    assert leftovers(settings.temp_dir) == []
    assert [m for m in payload.docs("media") if m.get("exportType")] == []
    [doc] = payload.docs("export-requests")
    assert (doc["status"], doc["error"]) == ("cancelled", "cancelled by editor@example.com")


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
