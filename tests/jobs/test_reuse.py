"""No work done twice: an export whose fingerprint matches an earlier successful result of
the same project reuses that Media; anything the result depends on changing, or
`options.fresh`, renders again; nothing crosses projects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs import queue, reuse
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import EDITOR, run_jobs
from tests.payload_stub import PayloadStub, lexical, png_bytes


def export(client, worker, kind: str = "project-pdf", **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/exports/{kind}",
        json={"projectId": 17, **body},
        headers={"Authorization": EDITOR},
    )
    assert response.status_code == 202, response.text
    run_jobs(worker)
    state = client.get(f"/jobs/{response.json()['jobId']}", headers={"Authorization": EDITOR})
    job = state.json()
    assert job["status"] == "succeeded", job["error"]
    return job


def results(payload: PayloadStub) -> list[dict[str, Any]]:
    return [m for m in payload.docs("media") if m.get("exportType")]


def edit(payload: PayloadStub, collection: str, doc: dict[str, Any], **changes: Any) -> None:
    doc.update(changes, updatedAt="2026-11-26T09:00:00.000Z")  # as Payload does on save


def test_an_unchanged_project_exported_again_reuses_the_media(client, payload, worker):
    first = export(client, worker)
    second = export(client, worker)
    assert (first["reused"], second["reused"]) == (False, True)
    assert second["resultMediaId"] == first["resultMediaId"]
    assert second["resultUrl"] == first["resultUrl"]
    assert len(results(payload)) == 1
    doc = next(d for d in payload.docs("export-requests") if d["jobId"] == second["jobId"])
    assert doc["reused"] is True and doc["result"] == first["resultMediaId"]
    assert doc["fingerprint"] == results(payload)[0]["exportMeta"]["fingerprint"]
    assert {"queued", "fetch", "reuse"} <= set(second["timings"])
    assert "render" not in second["timings"] and "render" in first["timings"]


def test_fresh_always_renders(client, payload, worker):
    export(client, worker)
    again = export(client, worker, options={"fresh": True})
    assert again["reused"] is False
    assert export(client, worker, options={"fresh": True})["reused"] is False
    assert len(results(payload)) == 3


def test_a_changed_script_renders_again(client, payload, worker):
    export(client, worker)
    script = payload.docs("scripts")[0]
    edit(payload, "scripts", script, body=lexical("The keeper rewrites the ending."))
    assert export(client, worker)["reused"] is False


def test_a_changed_media_file_renders_again(client, payload, worker):
    export(client, worker)
    cover = payload.collections["media"][payload.collections["projects"][17]["coverImage"]]
    payload.files[cover["filename"]] = content = png_bytes(color="red")
    edit(payload, "media", cover, filesize=len(content), sha256="0" * 64)
    assert export(client, worker)["reused"] is False


@pytest.mark.parametrize(
    "options", [{"paperSize": "Letter"}, {"includeThumbnails": False}, {"sections": ["cover"]}]
)
def test_other_options_render_again(client, payload, worker, options):
    export(client, worker)
    assert export(client, worker, options=options)["reused"] is False
    assert export(client, worker, options=options)["reused"] is True


def test_equivalent_options_reuse(client, payload, worker):
    export(client, worker)
    assert export(client, worker, options={"paperSize": "A4"})["reused"] is True


def test_another_locale_renders_again(settings, redis, payload, worker):
    def submit(job_id: str, params: dict[str, Any]) -> JobState:
        state = JobState(job_id=job_id, type=ExportType.PROJECT_PDF, project_id=17, params=params)
        queue.submit(redis, settings, state)
        run_jobs(worker)
        found = JobStore(redis, ttl_s=60).get(job_id)
        assert found is not None and found.status is JobStatus.SUCCEEDED, found
        return found

    assert submit("en-1", {"locale": "en"}).reused is False
    assert submit("fr-1", {"locale": "fr"}).reused is False
    assert submit("fr-2", {"locale": "fr"}).reused is True


def test_a_zip_bundle_is_reused_too_and_include_media_is_another_result(client, payload, worker):
    export(client, worker, "project-zip")
    assert export(client, worker, "project-zip")["reused"] is True
    assert export(client, worker, "project-zip", includeMedia=True)["reused"] is False


def test_a_result_deleted_from_payload_is_rendered_again(client, payload, worker):
    first = export(client, worker)
    del payload.collections["media"][first["resultMediaId"]]
    again = export(client, worker)
    assert again["reused"] is False and again["resultMediaId"] != first["resultMediaId"]


def test_results_never_cross_projects(client, payload, worker, redis):
    mine = export(client, worker)
    payload.add("projects", dict(payload.collections["projects"][17], id=18))
    twin = export(client, worker, projectId=18)
    assert twin["reused"] is False and twin["resultMediaId"] != mine["resultMediaId"]
    # A (forged or stale) index entry pointing project 18's result at project 17's Media
    # is refused: the Media must belong to the project asking, and it is rendered again.
    [key] = [k for k in redis.keys(reuse.KEY_PREFIX + "18:*")]
    redis.set(key, json.dumps({"mediaId": mine["resultMediaId"]}))
    again = export(client, worker, projectId=18)
    assert again["reused"] is False
    assert again["resultMediaId"] not in (mine["resultMediaId"], twin["resultMediaId"])


def test_fresh_results_are_reused_by_a_later_plain_request(client, payload, worker):
    for kind in ("project-pdf", "project-zip"):
        export(client, worker, kind, options={"fresh": True})
        assert export(client, worker, kind)["reused"] is True


@pytest.mark.slow  # three real ffmpeg renders (~8 s)
def test_a_video_is_reused_and_another_timeline_renders_again(client, payload, worker):
    cover = next(m for m in payload.docs("media") if m.get("filename") == "cover.png")
    timeline = {"clips": [{"mediaId": cover["id"], "in": 0, "out": 1}]}
    first = export(client, worker, "video", timeline=timeline, preset="360p-h264",
                   options={"fresh": True})  # fmt: skip
    # A plain request for the same video: options as validated, `{}` is `{"fresh": true}`
    # without `fresh` (the pinned `draft: false` made them differ).
    again = export(client, worker, "video", timeline=timeline, preset="360p-h264")
    longer = {"clips": [{"mediaId": cover["id"], "in": 0, "out": 2}]}
    other = export(client, worker, "video", timeline=longer, preset="360p-h264")
    assert (first["reused"], again["reused"], other["reused"]) == (False, True, False)
    assert again["resultMediaId"] == first["resultMediaId"] != other["resultMediaId"]
    assert len(results(payload)) == 2
