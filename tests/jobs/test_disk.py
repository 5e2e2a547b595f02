"""jobs.disk through real jobs: every kind checks its temp disk first; ENOSPC is named."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from starlette.testclient import TestClient

from jobs import disk, media_files
from tests.app.test_video_route import clip, ids, media  # noqa: F401  (fixtures)
from tests.conftest import EDITOR, run_jobs
from tests.payload_stub import PayloadStub

MB = 1024 * 1024


def submit(client: TestClient, kind: str, body: dict[str, Any]) -> str:
    response = client.post(f"/exports/{kind}", json=body, headers={"Authorization": EDITOR})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


def error_of(client: TestClient, job_id: str) -> str:
    state = client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()
    assert state["status"] == "failed"
    error: str = state["error"]
    return error


def media_requests(payload: PayloadStub) -> list[str]:
    return [c.request.url for c in payload.mock.calls if "/media/file/" in c.request.url]


@pytest.fixture
def small_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk, "free_disk_bytes", lambda path: 300 * MB)


def test_a_pdf_brief_that_cannot_fit_fails_before_downloading(client, payload, worker, small_disk):
    cover = payload.collections["media"][payload.collections["projects"][17]["coverImage"]]
    cover["filesize"] = 100 * MB  # Payload's word; the stub's file is smaller
    job_id = submit(client, "project-pdf", {"projectId": 17})
    run_jobs(worker)
    error = error_of(client, job_id)
    assert error.startswith("the PDF brief needs about 216 MB of temporary disk but ")
    assert "EXPORT_TEMP_DIR has 300 MB free" in error and "nothing was uploaded" in error
    assert media_requests(payload) == []


def test_a_video_that_cannot_fit_fails_before_downloading(
    client,
    payload,
    ids,  # noqa: F811
    worker,
    small_disk,
):
    for key in ("a", "b"):
        payload.collections["media"][ids[key]]["filesize"] = 40 * MB
    timeline = {"clips": [clip(ids["a"], 0, 2), clip(ids["b"], 0, 1.5)]}
    job_id = submit(client, "video", {"projectId": 17, "preset": "360p-h264", "timeline": timeline})
    run_jobs(worker)
    error = error_of(client, job_id)
    assert error.startswith("the video needs about ") and "EXPORT_TEMP_DIR has 300 MB" in error
    assert media_requests(payload) == []


def test_a_disk_that_fills_anyway_is_named_not_an_internal_error(
    client, payload, worker, monkeypatch
):
    def full(chunks, dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(media_files, "copy_to", full)
    job_id = submit(client, "project-pdf", {"projectId": 17})
    run_jobs(worker)
    error = error_of(client, job_id)
    assert error.startswith("the temp disk is full: EXPORT_TEMP_DIR ran out of space while ")
    assert "nothing was uploaded" in error and "internal error" not in error
    assert [d for d in payload.docs("media") if d.get("exportType")] == []
