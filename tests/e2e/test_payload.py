"""End to end on a real Payload 3: editors' requests in Payload become files in Media.

These start the dev Payload (Node, SQLite, the plugin), the web process, a worker and an
embedded Redis; nothing is stubbed. Logs land in test-artifacts/e2e/.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

TERMINAL = {"succeeded", "failed", "cancelled"}
WAIT_S = 90.0


def payload(stack: Stack, method: str, path: str, user: str = "editor", **kwargs: Any):
    return requests.request(
        method,
        f"{stack.payload_url}/api{path}",
        headers={"Authorization": stack.key(user)},
        timeout=30,
        **kwargs,
    )


def service(stack: Stack, method: str, path: str, user: str = "editor", **kwargs: Any):
    return requests.request(
        method,
        f"{stack.service_url}{path}",
        headers={"Authorization": stack.key(user)},
        timeout=30,
        **kwargs,
    )


def create_request(stack: Stack, user: str = "editor", **fields: Any) -> dict[str, Any]:
    body = {"project": stack.seed["projects"]["sample"], **fields}
    response = payload(stack, "POST", "/export-requests", user, json=body)
    assert response.status_code == 201, response.text
    return response.json()["doc"]


def wait_for_outcome(stack: Stack, doc_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        doc = payload(stack, "GET", f"/export-requests/{doc_id}?depth=0", "service").json()
        if doc.get("status") in TERMINAL:
            return doc
        time.sleep(0.3)
    raise AssertionError(
        f"export request {doc_id} did not finish in {WAIT_S} s: {doc}\n"
        f"{stack.log('worker')[-3000:]}"
    )


def result_file(stack: Stack, doc: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    media = payload(stack, "GET", f"/media/{doc['result']}?depth=0").json()
    response = requests.get(
        media["url"], headers={"Authorization": stack.key("editor")}, timeout=30
    )
    assert response.status_code == 200
    return media, response.content


def jobs_for(stack: Stack, doc_id: int) -> list[str]:
    assert stack.redis is not None
    found = []
    for key in stack.redis.keys("export:job:*"):
        if json.loads(stack.redis.hget(key, "request_doc_id") or b"null") == doc_id:
            found.append(key.decode())
    return found


def test_an_editors_pdf_request_ends_with_a_pdf_in_media(stack):
    fresh = {"options": {"fresh": True}}  # a rendered result, not one reused from another test
    doc = wait_for_outcome(stack, create_request(stack, type="project-pdf", params=fresh)["id"])
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["progress"] == 100 and doc["jobId"] and doc["startedAt"] and doc["finishedAt"]
    media, content = result_file(stack, doc)
    assert media["mimeType"] == "application/pdf"
    assert media["exportRequest"] == doc["id"]
    assert media["exportOf"] == stack.seed["projects"]["sample"]
    reader = PdfReader(io.BytesIO(content))
    assert "The Lighthouse Keeper" in reader.pages[0].extract_text()
    # exactly one job ran for it, despite the write-backs Payload fires afterChange for
    time.sleep(1.0)
    assert len(jobs_for(stack, doc["id"])) == 1
    derived = payload(
        stack, "GET", f"/media?where[exportRequest][equals]={doc['id']}", "service"
    ).json()
    assert derived["totalDocs"] == 1


def test_an_editors_zip_request_ends_with_a_bundle_whose_manifest_verifies(stack):
    doc = wait_for_outcome(stack, create_request(stack, type="project-zip")["id"])
    assert doc["status"] == "succeeded", doc["error"]
    _, content = result_file(stack, doc)
    archive = zipfile.ZipFile(io.BytesIO(content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]


def test_a_forged_webhook_does_nothing(stack):
    assert stack.redis is not None
    before = set(stack.redis.keys("rq:job:*"))
    body = json.dumps(
        {
            "event": "export-requests.afterChange",
            "operation": "create",
            "doc": {"id": 999, "type": "project-pdf", "project": 1, "status": "queued"},
            "previousDoc": {},
        }
    )
    response = requests.post(
        f"{stack.service_url}/webhooks/payload",
        data=body,
        timeout=10,
        headers={"X-Export-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert response.status_code == 401
    assert set(stack.redis.keys("rq:job:*")) == before


def test_a_rest_submission_appears_in_payload_and_finishes(stack):
    project = stack.seed["projects"]["sample"]
    response = service(stack, "POST", "/exports/project-pdf", "editor", json={"projectId": project})
    assert response.status_code == 202, response.text
    accepted = response.json()
    visible = payload(stack, "GET", f"/export-requests/{accepted['exportRequestId']}?depth=0")
    assert visible.status_code == 200
    assert visible.json()["source"] == "rest"
    assert visible.json()["requestedBy"] == stack.seed["users"]["editor"]["id"]
    doc = wait_for_outcome(stack, accepted["exportRequestId"])
    assert doc["status"] == "succeeded", doc["error"]
    job = service(stack, "GET", f"/jobs/{accepted['jobId']}").json()
    assert job["status"] == "succeeded" and job["resultMediaId"] == doc["result"]
    assert len(jobs_for(stack, doc["id"])) == 1


def test_a_user_without_access_cannot_export_the_project(stack):
    project = stack.seed["projects"]["sample"]
    response = service(
        stack, "POST", "/exports/project-zip", "outsider", json={"projectId": project}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "project_not_found"
    in_payload = payload(
        stack,
        "POST",
        "/export-requests",
        "outsider",
        json={"type": "project-zip", "project": project},
    )
    assert in_payload.status_code in (400, 403)
    private = stack.seed["projects"]["private"]
    response = service(stack, "POST", "/exports/project-pdf", "editor", json={"projectId": private})
    assert response.status_code in (403, 404)


def test_a_failing_export_shows_its_sentence_on_the_document(stack):
    doc = create_request(stack, type="project-pdf", params={"options": {"paperSize": "A0"}})
    doc = wait_for_outcome(stack, doc["id"])
    assert doc["status"] == "failed"
    assert "options.paperSize" in doc["error"]


def test_a_failure_in_the_worker_reaches_the_document(stack):
    # Saved again, the media documents have a new updatedAt: the workers' media cache (which
    # holds their files from earlier tests) does not answer for them, so they are downloaded.
    for media_id in stack.seed["media"]:
        saved = payload(stack, "PATCH", f"/media/{media_id}", user="admin", json={})
        assert saved.status_code == 200, saved.text
    media_dir = stack.root / "payload" / "media"
    for file in media_dir.iterdir():
        file.rename(file.with_name(file.name + ".moved"))
    try:  # fresh: an unchanged project would otherwise reuse the earlier PDF
        doc = create_request(stack, type="project-pdf", params={"options": {"fresh": True}})
        doc = wait_for_outcome(stack, doc["id"])
    finally:
        for file in media_dir.iterdir():
            file.rename(file.with_name(file.name.removesuffix(".moved")))
    assert doc["status"] == "failed"
    assert "Payload" in doc["error"] or "download" in doc["error"], doc["error"]
    assert "nothing was uploaded" in doc["error"]


def test_a_video_of_the_projects_own_timeline_is_a_playable_mp4(stack, tmp_path):
    from jobs.video.engine.probe import probe_mp4

    doc = create_request(stack, type="video", params={"preset": "360p-h264"})
    doc = wait_for_outcome(stack, doc["id"])
    assert doc["status"] == "succeeded", doc["error"]
    media, content = result_file(stack, doc)
    assert media["mimeType"] == "video/mp4"
    path = tmp_path / "export.mp4"
    path.write_bytes(content)
    info = probe_mp4(path)
    # three 2 s clips, and a 1 s title card inserted at the start
    assert abs(info.duration_s - 7.0) < 0.2, info
    assert (info.video_codec, info.width, info.height) == ("h264", 640, 360)
    assert media["exportMeta"]["preset"] == "360p-h264"


# -- what an export may hold (issue #13) ------------------------------------------------------


def user_traces(stack: Stack) -> list[str]:
    """What a user record would bring into an export: every seed user's email, and its fields."""
    emails = [user["email"] for user in stack.seed["users"].values() if user]
    return [*emails, "apiKey", "loginAttempts", "roles"]


def bundle_texts(content: bytes) -> dict[str, str]:
    """Every file of a ZIP bundle as text; the brief's as pypdf reads it."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    texts = {}
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".pdf"):
            texts[name] = "\n".join(
                p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages
            )
        else:
            texts[name] = data.decode("utf-8", errors="replace")
    return texts


def test_no_export_holds_a_user_record(stack):
    """The sample project's `editors` are users: neither the brief nor the bundle shows one."""
    pdf = wait_for_outcome(stack, create_request(stack, type="project-pdf")["id"])
    bundle = create_request(
        stack, type="project-zip", params={"includeMedia": True, "options": {"includePdf": True}}
    )
    bundle = wait_for_outcome(stack, bundle["id"])
    assert pdf["status"] == bundle["status"] == "succeeded", (pdf["error"], bundle["error"])

    reader = PdfReader(io.BytesIO(result_file(stack, pdf)[1]))
    texts = {"brief": "\n".join(p.extract_text() or "" for p in reader.pages)}
    texts.update(bundle_texts(result_file(stack, bundle)[1]))
    assert "brief.pdf" in texts and "project.json" in texts
    found = {(name, t) for name, text in texts.items() for t in user_traces(stack) if t in text}
    assert found == set()
    editor_id = stack.seed["users"]["editor"]["id"]
    assert json.loads(texts["project.json"])["editors"] == [editor_id]


def red_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (255, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_node(media_id: Any) -> dict[str, Any]:
    return {
        "type": "upload",
        "relationTo": "media",
        "value": media_id,
        "version": 3,
        "fields": None,
    }


def rich_text(*nodes: dict[str, Any]) -> dict[str, Any]:
    words = {"type": "text", "text": "See the pictures.", "format": 0, "version": 1}
    paragraph = {"type": "paragraph", "children": [words], "version": 1}
    return {"root": {"type": "root", "children": [paragraph, *nodes], "version": 1}}


def project_with_a_foreign_upload(stack: Stack) -> tuple[int, dict[str, Any]]:
    """A project of the editor's whose rich text shows one of its images and another one."""
    other = payload(
        stack,
        "POST",
        "/media",
        files={"file": ("other-project-secret.png", red_png(), "image/png")},
        data={"_payload": json.dumps({"alt": "Secret plans of another project"})},
    )
    assert other.status_code == 201, other.text
    other_id = other.json()["doc"]["id"]
    cover, own, _ = stack.seed["media"]
    body = rich_text(upload_node(own), upload_node(other_id))
    created = payload(
        stack,
        "POST",
        "/projects",
        json={
            "title": "Foreign upload probe",
            "summary": body,
            "coverImage": cover,
            "media": [own],
            "editors": [stack.seed["users"]["editor"]["id"]],
        },
    )
    assert created.status_code == 201, created.text
    project = created.json()["doc"]["id"]
    script = payload(
        stack,
        "POST",
        "/scripts",
        json={"title": "Probe script", "project": project, "order": 1, "body": body},
    )
    assert script.status_code == 201, script.text
    return project, other.json()["doc"]


def is_red(image: Any) -> bool:
    pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_rich_text_embeds_only_the_projects_own_media(stack):
    project, other = project_with_a_foreign_upload(stack)
    pdf = create_request(
        stack, project=project, type="project-pdf", params={"options": {"includeThumbnails": False}}
    )
    bundle = create_request(
        stack, project=project, type="project-zip", params={"includeMedia": True}
    )
    pdf, bundle = wait_for_outcome(stack, pdf["id"]), wait_for_outcome(stack, bundle["id"])
    assert pdf["status"] == bundle["status"] == "succeeded", (pdf["error"], bundle["error"])

    reader = PdfReader(io.BytesIO(result_file(stack, pdf)[1]))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert text.count("[image not part of this project]") == 2  # summary and script
    images = [image.image for page in reader.pages for image in page.images]
    assert len(images) >= 2  # the cover and the project's own image, shown inline
    assert not any(is_red(image) for image in images)
    texts = bundle_texts(result_file(stack, bundle)[1])
    markdown = next(text for name, text in texts.items() if name.endswith("Probe script.md"))
    assert "image not part of this project" in markdown
    assert "media/storm-still.png" in markdown
    for name, text in texts.items():
        assert other["filename"] not in name and other["filename"] not in text, name
        assert "Secret plans" not in text, name


def test_a_delivery_missed_while_the_service_is_down_still_exports_once_it_is_back(stack):
    # The plugin delivers through Payload's Jobs Queue: the inline attempt and the first retry
    # meet a closed port; a later retry (backoff 2 s, 4 s, 8 s, ...) reaches the service.
    stack.stop_web()
    try:
        doc = create_request(stack, type="project-pdf")
        time.sleep(4.0)
        waiting = payload(stack, "GET", f"/export-requests/{doc['id']}?depth=0", "service").json()
        assert waiting["status"] == "queued" and not waiting["jobId"], waiting
    finally:
        stack.start_web()
    doc = wait_for_outcome(stack, doc["id"])
    assert doc["status"] == "succeeded", doc["error"]
    assert f"delivery of export-requests/{doc['id']} failed (attempt 1 of 9)" in stack.log(
        "payload"
    )
    assert len(jobs_for(stack, doc["id"])) == 1
