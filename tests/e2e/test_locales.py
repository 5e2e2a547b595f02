"""End to end on the real dev Payload: locales and drafts (issue 15).

The seed (payload-plugin/dev/seed.mjs) publishes the sample project in English and German,
then saves an English draft of its logline and of the pilot's body.
"""

from __future__ import annotations

import io
import json
import time
import unicodedata
import zipfile
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

WAIT_S = 90.0
DRAFT_LOGLINE = "DRAFT: the keeper answers the light, and the island answers back."
DRAFT_SCRIPT_LINE = "I hear you. I have always heard you."


def export(stack: Stack, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Submit over REST as the editor; the finished job."""
    headers = {"Authorization": stack.key("editor")}
    body = {"projectId": stack.seed["projects"]["sample"], **body}
    response = requests.post(
        f"{stack.service_url}/exports/{kind}", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        job = requests.get(f"{stack.service_url}/jobs/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            assert job["status"] == "succeeded", job["error"]
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {WAIT_S} s")


def result(stack: Stack, job: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    headers = {"Authorization": stack.key("editor")}
    media = requests.get(
        f"{stack.payload_url}/api/media/{job['resultMediaId']}?depth=0", headers=headers, timeout=30
    ).json()
    content = requests.get(media["url"], headers=headers, timeout=30).content
    return media, content


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() or "" for p in reader.pages))


def test_a_german_brief_has_german_text_and_labels(stack):
    media, content = result(stack, export(stack, "project-pdf", {"options": {"locale": "de"}}))
    text = pdf_text(content)
    assert "Der Leuchtturmwärter" in text and "Die letzte Wärterin" in text
    assert "Mit wem sprichst du?" in text  # the pilot, in German, laid out as a screenplay
    for label in ("Inhalt", "Zusammenfassung", "Projektdetails", "Seite 2 von", "DREHBUCH"):
        assert label in text, label
    assert "Contents" not in text and "page 2 of" not in text
    assert "Entwurf" not in text  # the published version unless draft: true
    assert media["filename"].startswith("der-leuchtturmwarter-de-brief")
    assert media["exportMeta"]["locale"] == "de"


def test_a_draft_brief_shows_the_draft_and_says_so_on_every_page(stack):
    _, content = result(stack, export(stack, "project-pdf", {"options": {"draft": True}}))
    reader = PdfReader(io.BytesIO(content))
    pages = [unicodedata.normalize("NFKC", p.extract_text() or "") for p in reader.pages]
    assert DRAFT_LOGLINE in "\n".join(pages) and DRAFT_SCRIPT_LINE in "\n".join(pages)
    assert all("Draft — not published" in page for page in pages)


def test_the_published_brief_is_not_the_draft(stack):
    _, content = result(stack, export(stack, "project-pdf", {}))
    text = pdf_text(content)
    assert "The last keeper of an automated lighthouse" in text
    assert DRAFT_LOGLINE not in text and "Draft — not published" not in text
    assert text.count("Pilot — Teaser") == 2  # its contents entry and its chapter, never doubled


def test_an_unknown_locale_is_a_422_naming_payloads_locales(stack):
    response = requests.post(
        f"{stack.service_url}/exports/project-zip",
        json={"projectId": stack.seed["projects"]["sample"], "options": {"locale": "fr"}},
        headers={"Authorization": stack.key("editor")},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "options.locale"
    assert "en, de" in error["message"]


def test_a_bundle_of_every_locale_writes_them_side_by_side(stack):
    job = export(stack, "project-zip", {"options": {"locale": "all", "draft": True}})
    _, content = result(stack, job)
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    assert any(n.startswith("scripts/en/") for n in names)
    assert any(n.startswith("scripts/de/") for n in names)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["locale"] == "all" and manifest["locales"] == ["en", "de"]
    assert manifest["draft"] is True
    pilot_de = next(n for n in names if n.startswith("scripts/de/") and n.endswith(".md"))
    markdown = archive.read(pilot_de).decode()
    assert markdown.count("Pilot — Prolog") == 1  # the title once, not again as the body's heading
    assert "project.json" not in names and "brief.pdf" not in names
    project = json.loads(archive.read("project.de.json"))
    assert project["title"] == "Der Leuchtturmwärter"
    assert project["team"][0] == {**project["team"][0], "name": "Ines Alvarez", "role": "Autorin"}
    assert json.loads(archive.read("project.en.json"))["logline"] == DRAFT_LOGLINE


def test_a_bundle_of_every_locale_has_each_locales_project_and_brief(stack):
    job = export(stack, "project-zip", {"options": {"locale": "all", "includePdf": True}})
    archive = zipfile.ZipFile(io.BytesIO(result(stack, job)[1]))
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    for code, title in (("en", "The Lighthouse Keeper"), ("de", "Der Leuchtturmwärter")):
        assert json.loads(archive.read(f"project.{code}.json"))["title"] == title
        assert title in pdf_text(archive.read(f"brief.{code}.pdf"))
        assert listed[f"project.{code}.json"]["locale"] == code
        assert listed[f"brief.{code}.pdf"] == {**listed[f"brief.{code}.pdf"], "kind": "brief"}
        assert listed[f"brief.{code}.pdf"]["locale"] == code
    assert "Projektbriefing" in pdf_text(archive.read("brief.de.pdf"))
    assert all(
        f["locale"] in ("en", "de") for f in manifest["files"] if f["path"].startswith("scripts/")
    )
