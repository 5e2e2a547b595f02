"""The project bundle: contents, formats, names, safe fetching, limits and cleanup."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses

from app.settings import Settings
from cms_client import PayloadClient, Project, Script
from jobs.context import Artifact, ExportContext
from jobs.errors import ExportError
from jobs.state import ExportType, JobState
from jobs.zip import export as project_zip
from tests.conftest import EDITOR, RecordingProgress, leftovers, run_jobs
from tests.payload_stub import BASE_URL, USER_TRACES, PayloadStub, add_rich_text_uploads

GB = 1024**3


# -- helpers -----------------------------------------------------------------------------


def make_ctx(settings: Settings, params: dict[str, Any] | None = None, **limits: int):
    settings = replace(settings, limits=replace(settings.limits, **limits))
    workdir = Path(settings.temp_dir) / "job"
    workdir.mkdir()
    cms = PayloadClient(
        settings.payload_url,
        authorization=settings.service_authorization,
        allowed_media_origins=settings.allowed_media_origins,
    )
    job = JobState(job_id="j1", type=ExportType.PROJECT_ZIP, project_id=17, params=params or {})
    return ExportContext(
        job=job, settings=settings, cms=cms, workdir=workdir, progress=RecordingProgress()
    )  # type: ignore[arg-type]


def media_params(**options: Any) -> dict[str, Any]:
    return {"includeMedia": True, "options": options} if options else {"includeMedia": True}


def read_entries(artifact: Artifact) -> dict[str, bytes]:
    """Every file in the archive, by path, whatever the format."""
    if artifact.filename.endswith(".zip"):
        with zipfile.ZipFile(artifact.path) as archive:
            assert archive.testzip() is None
            return {name: archive.read(name) for name in archive.namelist()}
    with tarfile.open(artifact.path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}


def assert_verifies(entries: dict[str, bytes]) -> dict[str, Any]:
    """The manifest and SHA256SUMS describe every entry exactly; returns the manifest."""
    manifest = json.loads(entries["manifest.json"])
    described = {f["path"] for f in manifest["files"]}
    assert described | {"manifest.json", "SHA256SUMS"} == set(entries)
    for item in manifest["files"]:
        data = entries[item["path"]]
        assert len(data) == item["size"]
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
    lines = entries["SHA256SUMS"].decode().splitlines()
    sums = {path: digest for digest, path in (line.split("  ", 1) for line in lines)}
    assert set(sums) == set(entries) - {"SHA256SUMS"}
    for path, digest in sums.items():
        assert hashlib.sha256(entries[path]).hexdigest() == digest
    assert manifest["fileCount"] == len(manifest["files"])
    return manifest


def media_requests(payload: PayloadStub) -> list[str]:
    return [c.request.url for c in payload.mock.calls if "/media/file/" in c.request.url]


def job_of(client, job_id: str) -> dict[str, Any]:
    return client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()


def submit_zip(client, body: dict[str, Any]) -> str:
    response = client.post(
        "/exports/project-zip", json={"projectId": 17, **body}, headers={"Authorization": EDITOR}
    )
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


# -- through the queue -------------------------------------------------------------------


def test_a_zip_with_media_runs_through_the_queue_and_verifies(client, payload, worker, settings):
    job_id = submit_zip(client, {"includeMedia": True})
    run_jobs(worker)

    state = job_of(client, job_id)
    assert state["status"] == "succeeded", state["error"]
    doc = payload.collections["media"][state["resultMediaId"]]
    raw = payload.files[doc["filename"]]
    assert doc["mimeType"] == "application/zip" and "-bundle-" in doc["filename"]
    assert doc["format"] == "zip" and doc["sha256"] == hashlib.sha256(raw).hexdigest()
    assert doc["bytes"] == len(raw) and doc["exportOf"] == 17
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
        infos = {i.filename: i for i in archive.infolist()}
    assert doc["fileCount"] == len(entries)
    manifest = assert_verifies(entries)
    assert manifest["projectId"] == 17 and manifest["title"] == "The Lighthouse Keeper"
    assert entries["media/cover.png"] == payload.files["cover.png"]
    assert entries["media/still.png"] == payload.files["still.png"]
    media = {f["path"]: f for f in manifest["files"] if f["kind"] == "media"}
    assert {m["sourceId"] for m in media.values()} == {
        d["id"] for d in payload.docs("media") if d["filename"] in ("cover.png", "still.png")
    }
    assert media["media/cover.png"]["mimeType"] == "image/png"
    assert infos["media/cover.png"].compress_type == zipfile.ZIP_STORED
    assert infos["project.json"].compress_type == zipfile.ZIP_DEFLATED
    assert leftovers(settings.temp_dir) == []


def test_a_truncated_download_fails_the_job_and_uploads_nothing(client, payload, worker, settings):
    [still] = [d for d in payload.docs("media") if d["filename"] == "still.png"]
    still["filesize"] += 100  # Payload reports more than the server sends
    job_id = submit_zip(client, {"includeMedia": True})
    run_jobs(worker)

    state = job_of(client, job_id)
    assert state["status"] == "failed"
    assert state["error"].startswith(f"media {still['id']} (still.png) could not be bundled")
    assert f"{still['filesize'] - 100:,} bytes" in state["error"]
    assert "nothing was uploaded" in state["error"]
    assert [d for d in payload.docs("media") if d.get("exportType")] == []
    assert leftovers(settings.temp_dir) == []


# -- contents ----------------------------------------------------------------------------


def test_without_media_the_bundle_lists_references(settings, payload):
    artifact = project_zip.build(make_ctx(settings))

    entries = read_entries(artifact)
    manifest = assert_verifies(entries)
    assert sorted(entries) == sorted(
        [
            "manifest.json",
            "SHA256SUMS",
            "project.json",
            "media/references.json",
            "media/references.csv",
            "scripts/001-Draft 1_ script.md",
            "scripts/001-Draft 1_ script.json",
            "scripts/002-Draft 2_ story.md",
            "scripts/002-Draft 2_ story.json",
            "scripts/003-Draft 3_ treatment.md",
            "scripts/003-Draft 3_ treatment.json",
        ]
    )
    references = json.loads(entries["media/references.json"])
    cover = next(d for d in payload.docs("media") if d["filename"] == "cover.png")
    assert references[0] == {
        "id": cover["id"],
        "filename": "cover.png",
        "mimeType": "image/png",
        "size": len(payload.files["cover.png"]),
        "url": f"{BASE_URL}/api/media/file/cover.png",
    }
    rows = list(csv.DictReader(io.StringIO(entries["media/references.csv"].decode("utf-8-sig"))))
    assert [r["filename"] for r in rows] == ["cover.png", "still.png"]
    assert rows[0]["url"] == references[0]["url"]
    assert media_requests(payload) == []
    assert manifest["includeMedia"] is False and manifest["format"] == "zip"
    assert artifact.metadata == {
        "format": "zip",
        "sha256": project_zip_sha(artifact),
        "fileCount": 11,
        "includeMedia": False,
        "locale": None,
        "draft": False,
    }


def project_zip_sha(artifact: Artifact) -> str:
    return hashlib.sha256(artifact.path.read_bytes()).hexdigest()


def test_scripts_come_as_markdown_and_raw_json(settings, payload):
    entries = read_entries(project_zip.build(make_ctx(settings)))

    markdown = entries["scripts/002-Draft 2_ story.md"].decode()
    assert markdown.startswith("# Draft 2: story\n")
    assert "- **Kind:** story" in markdown
    assert "This is the story of the keeper." in markdown
    raw = json.loads(entries["scripts/002-Draft 2_ story.json"])
    assert raw["body"]["root"]["type"] == "root" and raw["kind"] == "story"
    project = json.loads(entries["project.json"])
    assert project["coverImage"]["filename"] == "cover.png"  # the media record


def test_a_tar_gz_bundle_verifies_too(settings, payload):
    artifact = project_zip.build(make_ctx(settings, media_params(format="tar.gz")))

    assert artifact.filename.endswith("-bundle.tar.gz")
    assert artifact.mime_type == "application/gzip"
    entries = read_entries(artifact)
    manifest = assert_verifies(entries)
    assert manifest["format"] == "tar.gz"
    assert entries["media/cover.png"] == payload.files["cover.png"]
    assert artifact.metadata["sha256"] == project_zip_sha(artifact)


def test_the_pdf_brief_is_included_when_asked_for(settings, payload):
    entries = read_entries(project_zip.build(make_ctx(settings, {"options": {"includePdf": True}})))

    assert entries["brief.pdf"].startswith(b"%PDF-")
    manifest = assert_verifies(entries)
    assert {"path": "brief.pdf", "kind": "brief"}.items() <= next(
        f for f in manifest["files"] if f["path"] == "brief.pdf"
    ).items()


def test_progress_stays_between_5_and_88_and_only_rises(settings, payload):
    ctx = make_ctx(settings, media_params())
    project_zip.build(ctx)
    percents = [p for _, p in ctx.progress.reports]
    assert percents[0] == 5 and percents[-1] == 88
    assert all(5 <= p <= 88 for p in percents)
    assert percents == sorted(percents)


def bundle_text(entries: dict[str, bytes]) -> dict[str, str]:
    """Every file's text: the PDF's as pypdf reads it, media files as they are."""
    import pypdf

    texts = {}
    for path, data in entries.items():
        if path.endswith(".pdf"):
            pages = pypdf.PdfReader(io.BytesIO(data)).pages
            texts[path] = "\n".join(page.extract_text() or "" for page in pages)
        else:
            texts[path] = data.decode("utf-8", errors="replace")
    return texts


def test_no_file_of_the_bundle_holds_a_user_record(settings, payload):
    params = {"includeMedia": True, "options": {"includePdf": True}}
    entries = read_entries(project_zip.build(make_ctx(settings, params)))

    found = {
        (path, trace)
        for path, text in bundle_text(entries).items()
        for trace in USER_TRACES
        if trace in text
    }
    assert found == set()
    assert json.loads(entries["project.json"])["editors"] == [2]  # the ids Payload stores


def test_rich_text_links_only_the_projects_own_media(settings, payload):
    other = add_rich_text_uploads(payload)
    entries = read_entries(project_zip.build(make_ctx(settings, media_params())))

    markdown = entries["scripts/001-Draft 1_ script.md"].decode()
    assert "![Still](<../media/still.png>)" in markdown
    assert "image not part of this project" in markdown
    assert "other-project-secret" not in json.dumps(bundle_text(entries))
    assert "Secret plans" not in json.dumps(bundle_text(entries))
    assert not any(f"={other['id']}" in c.request.url for c in payload.mock.calls)


# -- names -------------------------------------------------------------------------------


def add_media(
    payload: PayloadStub, filename: str, content: bytes, mime: str = "image/jpeg", **extra: Any
) -> dict[str, Any]:
    key = hashlib.sha1(filename.encode() + content).hexdigest()
    doc = payload.add_media_file(key, content, mime, **extra)
    doc["filename"] = filename
    payload.collections["projects"][17]["media"].append(doc["id"])
    return doc


def test_hostile_and_repeated_names_are_harmless(settings, payload):
    evil = add_media(payload, "../../etc/passwd", b"root:x:0:0", "text/plain")
    first = add_media(payload, "cover.jpg", b"first")
    second = add_media(payload, "COVER.jpg", b"second")
    control = add_media(payload, "a\x00b\u202egpj.exe", b"ctl", "application/octet-stream")
    entries = read_entries(project_zip.build(make_ctx(settings, media_params())))

    for name in entries:
        assert not name.startswith("/") and ".." not in name.split("/")
        assert all(ord(c) >= 32 for c in name)
    assert entries["media/_.._etc_passwd"] == b"root:x:0:0"
    assert entries["media/cover.jpg"] == b"first"
    assert entries[f"media/COVER-{second['id']}.jpg"] == b"second"
    assert entries["media/a_bgpj.exe"] == b"ctl"
    manifest = assert_verifies(entries)
    sources = {f["sourceId"]: f["path"] for f in manifest["files"] if f["kind"] == "media"}
    assert sources[evil["id"]] == "media/_.._etc_passwd"
    assert sources[first["id"]] == "media/cover.jpg"
    assert sources[control["id"]] == "media/a_bgpj.exe"


def test_media_names_cannot_take_the_manifests_place(settings, payload):
    add_media(payload, "references.json", b"[]", "application/json")
    entries = read_entries(project_zip.build(make_ctx(settings, media_params())))
    assert_verifies(entries)
    assert "media/references.json" not in entries


# -- fetching safely ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("http://169.254.169.254/latest/meta-data", "is not an allowed origin"),
        ("http://10.0.0.7/internal.png", "is not an allowed origin"),
    ],
)
def test_media_urls_outside_the_cms_are_refused(settings, payload, url, words):
    doc = add_media(payload, "x.png", b"x", "image/png")
    doc["url"] = url
    with pytest.raises(ExportError) as caught:
        project_zip.build(make_ctx(settings, media_params()))
    assert str(caught.value).startswith(f"media {doc['id']} (x.png) could not be bundled")
    assert words in str(caught.value)


def test_a_redirect_to_another_host_is_refused(settings, payload):
    doc = add_media(payload, "moved.png", b"x", "image/png")
    doc["url"] = f"{BASE_URL}/files/moved.png"
    payload.mock.add(
        responses.GET,
        f"{BASE_URL}/files/moved.png",
        status=302,
        headers={"Location": "https://elsewhere.example/moved.png"},
    )
    with pytest.raises(ExportError, match=r"https://elsewhere.example is not an allowed origin"):
        project_zip.build(make_ctx(settings, media_params()))


def test_an_allowed_storage_host_on_a_link_local_address_is_refused(settings, payload, monkeypatch):
    settings = replace(settings, allowed_media_origins=("https://cdn.example",))
    ctx = make_ctx(settings, media_params())
    ctx.cms.fetch_policy = replace(ctx.cms.fetch_policy, resolver=lambda host: ["169.254.169.254"])
    doc = add_media(payload, "cdn.png", b"x", "image/png")
    doc["url"] = "https://cdn.example/cdn.png"
    with pytest.raises(ExportError, match="link-local"):
        project_zip.build(ctx)


# -- limits ------------------------------------------------------------------------------


def test_too_many_files_fail_before_any_download(settings, payload):
    with pytest.raises(ExportError) as caught:
        project_zip.build(make_ctx(settings, media_params(), max_files=5))
    assert str(caught.value) == (
        "the bundle of project 17 would hold 11 files, over EXPORT_MAX_FILES (5)"
    )
    assert media_requests(payload) == []


def test_a_file_over_the_single_file_limit_is_named(settings, payload):
    trailer = add_media(payload, "trailer.mov", b"x", "video/quicktime")
    trailer["filesize"] = int(6.1 * GB)
    with pytest.raises(ExportError) as caught:
        project_zip.build(
            make_ctx(settings, media_params(), max_file_bytes=5 * GB, max_total_bytes=100 * GB)
        )
    assert str(caught.value) == (
        f"media {trailer['id']} (trailer.mov) is 6.1 GB, over EXPORT_MAX_FILE_BYTES (5 GB)"
    )
    assert media_requests(payload) == []


def test_a_file_sending_more_than_the_single_file_limit_is_stopped(settings, payload):
    big = add_media(payload, "big.bin", b"y" * 4096, "application/octet-stream")
    big["filesize"] = None  # Payload does not say: the stream itself is checked
    with pytest.raises(ExportError) as caught:
        project_zip.build(make_ctx(settings, media_params(), max_file_bytes=2048))
    assert f"media {big['id']} (big.bin) could not be bundled" in str(caught.value)
    assert "EXPORT_MAX_FILE_BYTES (2,048 bytes)" in str(caught.value)


def test_the_total_is_checked_against_the_sizes_payload_reports(settings, payload):
    with pytest.raises(ExportError) as caught:
        project_zip.build(make_ctx(settings, media_params(), max_total_bytes=100))
    assert "add up to" in str(caught.value)
    assert "over EXPORT_MAX_TOTAL_BYTES (100 bytes)" in str(caught.value)
    assert media_requests(payload) == []


def test_too_little_free_disk_fails_in_a_second(settings, payload, monkeypatch):
    monkeypatch.setattr(project_zip, "free_disk_bytes", lambda path: 10 * GB)
    trailer = add_media(payload, "trailer.mov", b"x", "video/quicktime")
    trailer["filesize"] = 30 * GB
    with pytest.raises(ExportError) as caught:
        project_zip.build(
            make_ctx(settings, media_params(), max_file_bytes=40 * GB, max_total_bytes=40 * GB)
        )
    message = str(caught.value)
    assert message.startswith("the bundle needs about 30 GB of temporary disk but ")
    assert "has 10 GB free" in message and "EXPORT_MIN_FREE_TEMP_BYTES (256 MB)" in message
    assert media_requests(payload) == []


def test_the_job_wall_time_is_enforced_while_streaming(settings, payload, monkeypatch):
    ticks = iter(range(0, 10_000, 100))
    monkeypatch.setattr(project_zip, "clock", lambda: next(ticks))
    with pytest.raises(ExportError) as caught:
        project_zip.build(make_ctx(settings, media_params(), job_timeout_s=150))
    assert str(caught.value).startswith(
        "the bundle was not finished within EXPORT_JOB_TIMEOUT_S (150 s)"
    )


def test_failure_through_the_queue_leaves_no_temp_files(client, payload, worker, settings):
    for doc in payload.docs("media"):
        doc["filesize"] = 10 * GB
    job_id = submit_zip(client, {"includeMedia": True})
    run_jobs(worker)
    state = job_of(client, job_id)
    assert state["status"] == "failed"
    assert "over EXPORT_MAX_FILE_BYTES (5 GB)" in state["error"]
    assert leftovers(settings.temp_dir) == []


def test_human_bytes():
    assert project_zip.human_bytes(812) == "812 bytes"
    assert project_zip.human_bytes(5 * GB) == "5 GB"
    assert project_zip.human_bytes(int(6.1 * GB)) == "6.1 GB"
    assert project_zip.human_bytes(256 * 1024**2) == "256 MB"


def test_percent_escaped_and_device_names_are_harmless_in_the_bundle(settings, payload):
    for name in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..%252F..%255Cx", "CONIN$.txt",
                 "com\u00b9.jpg", "Lpt0.png", "clock$", "nul .tar.gz"):  # fmt: skip
        add_media(payload, name, name.encode(), "application/octet-stream")
    entries = read_entries(project_zip.build(make_ctx(settings, media_params())))
    assert_verifies(entries)
    for entry in entries:
        parts = entry.split("/")
        assert ".." not in parts and "%" not in entry and "\\" not in entry, entry
        stem = parts[-1].split(".", 1)[0].rstrip(" ").lower()
        assert stem not in {"conin$", "com\u00b9", "lpt0", "clock$", "nul"}, entry
    assert entries["media/_.._etc_passwd"] == b"..%2F..%2Fetc%2Fpasswd"


def test_the_bundles_markdown_never_links_to_scripts_or_inline_documents(settings, payload):
    script = payload.docs("scripts")[1]
    links = [
        {"type": "link", "fields": {"url": url}, "version": 1,
         "children": [{"type": "text", "text": f"link {n}", "version": 1}]}
        for n, url in enumerate(["javascript:alert(1)", "data:text/html,<b>x</b>",
                                 " JaVaScRiPt:alert(2)", "https://example.org/ok"])
    ]  # fmt: skip
    paragraph = {"type": "paragraph", "children": links, "version": 1}
    script["body"] = {"root": {"type": "root", "children": [paragraph], "version": 1}}
    entries = read_entries(project_zip.build(make_ctx(settings)))
    markdown = entries["scripts/002-Draft 2_ story.md"].decode().lower()
    assert "javascript:" not in markdown and "data:" not in markdown
    assert "link 0" in markdown and "(<https://example.org/ok>)" in markdown


def test_every_locale_reserves_its_own_project_and_brief(settings):
    def project(title: str) -> Project:
        return Project(17, title, None, None, None, (), None, None, None)

    en, de = project("The Lighthouse Keeper"), project("Der Leuchtturmwärter")
    scripts = [Script(1, 17, "project.de", "notes", 1, None, None, None)]
    plan = project_zip.plan_bundle(
        make_ctx(settings),
        project_zip.BundleSpec(include_pdf=True),
        en,
        {"en": scripts, "de": scripts},
        {"en": en, "de": de},
    )
    assert plan.projects == {"en": en, "de": de}
    for name in ("project.en.json", "project.de.json", "brief.en.pdf", "brief.de.pdf"):
        assert plan.names.claim(name) != name  # taken: no script or media can have it
    assert [(stem, folder) for _, stem, folder in plan.scripts] == [
        ("scripts/en/001-project.de", "en"),
        ("scripts/de/001-project.de", "de"),
    ]
    assert plan.file_count == 2 + 2 * 2 + 2 * 2 + 2  # manifest, sums; per locale; scripts; refs
