"""Editors export from Payload's real admin UI, in Chromium.

A fresh Payload + Next.js app with the plugin installed from its packed tarball (see
tests/browser/stack.py), the service's web process, a worker and an embedded Redis; nothing is
stubbed. Screenshots and
logs land in test-artifacts/browser/.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from tests.browser.stack import AdminStack

pytestmark = pytest.mark.browser

WAIT_S = 90.0


def log_in(page: Any, email: str, password: str = "password123") -> None:
    page.goto("/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/?$"))


def wait_for_idle(page: Any) -> None:
    """Lets the admin finish rendering before a screenshot."""
    page.wait_for_load_state("networkidle")


def service_issues_tickets(stack: AdminStack) -> bool:
    """Has the service `POST /webhooks/payload/ticket` (401 unsigned) or not (404/405)?"""
    response = requests.post(f"{stack.service_url}/webhooks/payload/ticket", data=b"{}", timeout=10)
    return response.status_code not in (404, 405)


def watch_progress(page: Any, deadline_s: float) -> list[tuple[str, int]]:
    """(status, percent) as the panel shows them, until a terminal status."""
    seen: list[tuple[str, int]] = []
    panel = page.get_by_role("region", name="Export status")
    bar = panel.get_by_role("progressbar")
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        status = panel.get_attribute("data-export-status") or ""
        percent = int(bar.get_attribute("aria-valuenow") or 0)
        if not seen or seen[-1] != (status, percent):
            seen.append((status, percent))
        if status in ("succeeded", "failed", "cancelled"):
            return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"the export did not finish in {deadline_s} s; seen {seen}")


def test_an_editor_exports_a_pdf_from_the_project_view(
    page: Any, admin_stack: AdminStack, artifacts: Path
) -> None:
    sockets: list[Any] = []
    frames: list[str] = []

    def on_socket(ws: Any) -> None:
        sockets.append(ws)
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    project = admin_stack.seed["projects"]["sample"]
    # A change the brief shows, so this export renders rather than reusing an earlier result.
    changed = requests.patch(
        f"{admin_stack.payload_url}/api/projects/{project}",
        headers={"Authorization": admin_stack.key("editor")},
        json={
            "logline": f"A keeper finds a message in the lamp ({time.time_ns()}).",
            "_status": "published",  # projects have drafts: without it the change is a draft
        },
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    log_in(page, "editor@example.com")
    page.goto(f"/admin/collections/projects/{project}")
    export_pdf = page.get_by_role("button", name="Export PDF")
    export_pdf.wait_for()
    assert page.get_by_role("button", name="Export ZIP").is_enabled()
    assert page.get_by_text("Include media in the ZIP").is_visible()
    assert page.get_by_label("Include media in the ZIP").is_checked()
    assert page.get_by_role("button", name="Export video").is_enabled()  # the sample has a timeline
    page.get_by_text("PDF options").click()
    assert page.get_by_label("Media appendix").is_checked()
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "project-view.png"), full_page=True)

    export_pdf.click()
    page.wait_for_url(re.compile(r"/admin/collections/export-requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    seen = watch_progress(page, WAIT_S)
    panel = page.get_by_role("region", name="Export status")
    assert seen[-1] == ("succeeded", 100), (seen, admin_stack.log("worker")[-3000:])
    (artifacts / "progress-seen.txt").write_text("".join(f"{s} {p}%\n" for s, p in seen))
    percents = [p for _, p in seen]
    assert percents == sorted(percents), f"the bar went backwards: {seen}"

    live = service_issues_tickets(admin_stack)
    if live and any(status == "running" for status, _ in seen):
        # the progress came over the service's WebSocket, through the signed eventsUrl (a job
        # that ended before the panel learnt its id has nothing left to stream: no socket)
        urls = [ws.url for ws in sockets if "/jobs/" in ws.url]
        assert urls and all("ticket=" in u for u in urls), [ws.url for ws in sockets]
        assert any('"status": "succeeded"' in f or '"status":"succeeded"' in f for f in frames), (
            frames
        )

    # the download link serves the PDF, with the editor's session
    link = panel.get_by_role("link", name=re.compile(r"^Download "))
    link.wait_for()
    size = panel.get_by_test_id("export-size").inner_text()
    assert re.fullmatch(r" ?\(\d+(\.\d)? (B|KB|MB)\)", size), size
    with page.expect_download() as download:
        link.click()
    saved = Path(download.value.path())
    assert saved.read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename.endswith(".pdf")
    # what the browser gets from that URL, with the editor's session cookie
    served = page.evaluate(
        """async (url) => {
            const r = await fetch(url, { credentials: 'include' })
            const head = new Uint8Array(await r.arrayBuffer()).slice(0, 4)
            return { status: r.status, type: r.headers.get('content-type'),
                     head: String.fromCharCode(...head) }
        }""",
        link.get_attribute("href"),
    )
    assert served == {"status": 200, "type": "application/pdf", "head": "%PDF"}, served
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "request-succeeded.png"), full_page=True)

    # the document says what it is, and the service's fields are read-only beside the panel
    title = page.get_by_role("heading", level=1).inner_text()
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    assert re.fullmatch(rf"PDF · The Lighthouse Keeper · {when}", title), title
    assert page.locator("#field-jobId").is_disabled()

    # back on the project, the last exports list it, with a download link
    page.goto(f"/admin/collections/projects/{project}")
    last = page.get_by_role("region", name="Last exports")
    last.get_by_role("link", name="Download").first.wait_for()
    assert "Succeeded" in last.inner_text()
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "project-last-exports.png"), full_page=True)

    # the list view shows the finished request at 100 %
    page.goto("/admin/collections/export-requests")
    row = page.locator("tr", has=page.get_by_role("link", name=re.compile(r"^PDF · "))).first
    row.wait_for()
    bars = page.get_by_role("progressbar")
    bars.first.wait_for()
    assert any(bars.nth(i).get_attribute("aria-valuenow") == "100" for i in range(bars.count())), (
        f"no finished bar for request {request_id}"
    )
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "request-list.png"), full_page=True)


def test_a_failed_request_shows_its_error_and_can_be_re_run(
    page: Any, admin_stack: AdminStack, artifacts: Path
) -> None:
    # an export the service refuses (unknown paper size): it fails with a sentence
    created = requests.post(
        f"{admin_stack.payload_url}/api/export-requests",
        headers={"Authorization": admin_stack.key("editor")},
        json={
            "type": "project-pdf",
            "project": admin_stack.seed["projects"]["sample"],
            "params": {"options": {"paperSize": "Napkin"}},
            "source": "rest",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    doc_id = created.json()["doc"]["id"]

    log_in(page, "editor@example.com")
    page.goto(f"/admin/collections/export-requests/{doc_id}")
    assert watch_progress(page, WAIT_S)[-1][0] == "failed"
    panel = page.get_by_role("region", name="Export status")
    error = panel.get_by_role("alert").first.inner_text()
    assert "paperSize" in error or "paper" in error.lower(), error
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "request-failed.png"), full_page=True)

    before = requests.get(
        f"{admin_stack.payload_url}/api/export-requests/{doc_id}?depth=0",
        headers={"Authorization": admin_stack.key("editor")},
        timeout=30,
    ).json()["updatedAt"]
    panel.get_by_role("button", name="Re-run").click()
    # the re-run went through (failed → queued) and the service judged it again
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        doc = requests.get(
            f"{admin_stack.payload_url}/api/export-requests/{doc_id}?depth=0",
            headers={"Authorization": admin_stack.key("editor")},
            timeout=30,
        ).json()
        if doc["updatedAt"] != before and doc["status"] == "failed":
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the re-run did not happen: {doc}")
    assert watch_progress(page, WAIT_S)[-1][0] == "failed"


def test_video_is_disabled_with_a_reason_without_a_timeline(
    page: Any, admin_stack: AdminStack
) -> None:
    # the private project has no timeline; only admins can read it
    log_in(page, "admin@example.com")
    page.goto(f"/admin/collections/projects/{admin_stack.seed['projects']['private']}")
    video = page.get_by_role("button", name="Export video")
    video.wait_for()
    assert video.is_disabled()
    assert "no timeline" in page.locator("#export-video-reason").inner_text()


def test_the_admin_speaks_german_to_a_german_browser(
    german_page: Any, admin_stack: AdminStack, artifacts: Path
) -> None:
    page = german_page
    log_in(page, "editor@example.com")
    page.goto(f"/admin/collections/projects/{admin_stack.seed['projects']['sample']}")
    page.get_by_role("button", name="PDF exportieren").wait_for()
    assert page.get_by_role("button", name="ZIP exportieren").is_enabled()
    assert page.get_by_text("Medien ins ZIP aufnehmen").is_visible()
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "project-view-de.png"), full_page=True)


def switch_admin_locale(page: Any, code: str) -> None:
    """Chooses `code` in the admin's locale selector, as an editor does."""
    page.locator(".localizer button").first.click()
    # the list is portalled out of .localizer; each locale's button carries its code
    page.locator(f"button:has(.localizer__locale-code[data-locale='{code}'])").click()
    page.wait_for_url(re.compile(rf"[?&]locale={code}\b"))


def test_an_editor_in_the_german_admin_view_exports_the_german_brief(
    page: Any, admin_stack: AdminStack, artifacts: Path
) -> None:
    project = admin_stack.seed["projects"]["sample"]
    log_in(page, "editor@example.com")
    page.goto(f"/admin/collections/projects/{project}")
    export_pdf = page.get_by_role("button", name="Export PDF")
    export_pdf.wait_for()
    switch_admin_locale(page, "de")
    title = page.locator("#field-title")
    page.wait_for_function(
        "(el) => el.value === 'Der Leuchtturmwärter'", arg=title.element_handle()
    )
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "project-view-locale-de.png"), full_page=True)

    export_pdf.click()
    page.wait_for_url(re.compile(r"/admin/collections/export-requests/\d+$"))
    request_id = page.url.rsplit("/", 1)[1]
    doc = requests.get(
        f"{admin_stack.payload_url}/api/export-requests/{request_id}?depth=0",
        headers={"Authorization": admin_stack.key("editor")},
        timeout=30,
    ).json()
    assert doc["params"]["options"]["locale"] == "de", doc["params"]
    seen = watch_progress(page, WAIT_S)
    assert seen[-1] == ("succeeded", 100), (seen, admin_stack.log("worker")[-3000:])

    link = page.get_by_role("region", name="Export status").get_by_role(
        "link", name=re.compile(r"^Download ")
    )
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    pdf = Path(download.value.path()).read_bytes()
    (artifacts / "brief-de.pdf").write_bytes(pdf)
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Der Leuchtturmwärter" in text, text[:2000]
    # labels in German ("PROJEKTBRIEFING" on the cover; a draft's running header says so instead)
    assert "Inhalt" in text and "projektbriefing" in text.lower(), text[:2000]
    assert "Die Geschichte der Wärterin" in text and "Keeper’s Story" not in text, text[:2000]
    wait_for_idle(page)
    page.screenshot(path=str(artifacts / "request-succeeded-de.png"), full_page=True)
