"""jobs.pdf.export against the stubbed Payload: what the brief reads, fetches and shows."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any

import pypdf

from app.settings import Settings
from cms_client import FOREIGN_UPLOAD_TEXT, PayloadClient
from jobs.context import ExportContext
from jobs.pdf import export as project_pdf
from jobs.state import ExportType, JobState
from tests.conftest import RecordingProgress
from tests.payload_stub import USER_TRACES, PayloadStub, add_rich_text_uploads


def make_ctx(settings: Settings, params: dict[str, Any] | None = None) -> ExportContext:
    workdir = Path(settings.temp_dir) / "job"
    workdir.mkdir()
    cms = PayloadClient(settings.payload_url, authorization=settings.service_authorization)
    job = JobState(job_id="j1", type=ExportType.PROJECT_PDF, project_id=17, params=params or {})
    return ExportContext(
        job=job, settings=settings, cms=cms, workdir=workdir, progress=RecordingProgress()
    )  # type: ignore[arg-type]


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() or "" for p in reader.pages))


def requested(payload: PayloadStub) -> list[str]:
    return [call.request.url for call in payload.mock.calls]


def test_the_brief_holds_no_user_record(settings, payload):
    artifact = project_pdf.build(make_ctx(settings))

    text = pdf_text(artifact.path)
    # Editors are users, related by id only (depth 0): an id tells a reader nothing, so the
    # brief leaves the field out rather than print it.
    assert "Project details" in text and "Editors" not in text
    assert [trace for trace in USER_TRACES if trace in text] == []
    assert all("depth=0" in url for url in requested(payload) if "/media/file/" not in url)


def test_rich_text_shows_only_the_projects_own_images(settings, payload):
    other = add_rich_text_uploads(payload)
    artifact = project_pdf.build(make_ctx(settings, {"options": {"includeThumbnails": False}}))

    text = pdf_text(artifact.path)
    assert text.count(FOREIGN_UPLOAD_TEXT) == 2  # the summary's and the script's
    assert "Secret plans" not in text and "other-project-secret.png" not in text
    urls = requested(payload)
    assert any(url.endswith("/api/media/file/still.png") for url in urls)  # embedded inline
    assert not any("other-project-secret" in url for url in urls)
    assert not any(f"={other['id']}" in url for url in urls)  # not even its document
