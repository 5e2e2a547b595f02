"""Warm a worker before it forks, so every work horse starts with the heavy lifting done.

RQ forks a work horse per job (a crashing render cannot take the worker down). Whatever
the parent has imported and initialised, the child inherits for free; whatever it has
not, every job pays again (~470 ms for the PDF brief: xhtml2pdf, ReportLab and its TTF
parsing, Jinja, PIL, pypdf). `warm(settings)` imports every export kind, renders one
small brief with the configured template (every shipped font face, an image, rich
text) and hashes the template's files for the fingerprint (`jobs.fingerprint`); then
it freezes the garbage collector's view of those objects, so children neither scan
nor copy their pages.

What must not cross a fork is left alone: no Redis or HTTP connection, no socket, no
thread is open when it returns (tests/jobs/test_preload.py checks).
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings
from cms_client.records import (
    Project,
    Script,
    media_from_doc,
    project_from_doc,
    script_from_doc,
)

logger = logging.getLogger(__name__)

#: Text in every script the shipped fonts cover, so each @font-face is loaded once.
WARM_TEXT = "Keeper · Φάρος · Маяк · 灯塔守护人 · מגדלור · منارة"


def warm(settings: Settings) -> float:
    """Import and initialise everything an export needs; seconds spent."""
    started = time.perf_counter()
    _import_export_kinds()
    try:
        _render_sample_brief(settings)
        _hash_template_files(settings)
    except Exception:  # a broken custom template must not stop the worker from starting
        logger.exception("worker warm-up: the sample brief failed; jobs will start cold")
    gc.collect()
    gc.freeze()
    elapsed = time.perf_counter() - started
    logger.info("worker warm-up: done in %.0f ms", elapsed * 1000)
    return elapsed


def _import_export_kinds() -> None:
    import pypdf  # noqa: F401  (the brief counts its pages with it)
    from PIL import Image

    import jobs.lexical.html
    import jobs.lexical.markdown
    import jobs.pdf.export
    import jobs.video.export
    import jobs.zip.export  # noqa: F401

    Image.init()  # every image plugin, not just the five PIL preloads


def _render_sample_brief(settings: Settings) -> None:
    from jobs.pdf.brief import BriefData, BriefOptions, render_brief

    with tempfile.TemporaryDirectory(prefix="export-warm-", dir=settings.temp_dir) as tmp:
        folder = Path(tmp)
        image = _sample_image(folder)
        project = _sample_project()
        data = BriefData(
            project=project,
            scripts=[_sample_script(project)],
            media=project.own_media(),
            images={"warm": image},
            exported_at=datetime(2026, 1, 1, tzinfo=UTC),
            service_version=settings.service_version,
        )
        render_brief(
            data, folder / "warm.pdf", options=BriefOptions(), templates_dir=settings.templates_dir
        )


def _hash_template_files(settings: Settings) -> None:
    """Fill the fingerprint's file cache (fonts are megabytes) once, for every child."""
    from jobs import fingerprint
    from jobs.lexical.html import FONTS_DIR
    from jobs.pdf.brief import DEFAULT_TEMPLATE, resolve_template_dirs

    fingerprint.renderer_versions()
    dirs = resolve_template_dirs(DEFAULT_TEMPLATE, settings.templates_dir)
    fingerprint.files_digest([*dirs, FONTS_DIR])


def _sample_image(folder: Path) -> Path:
    from PIL import Image

    path = folder / "warm.png"
    Image.new("RGB", (48, 32), "teal").save(path, "PNG")
    return path


def _rich_text(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "children": [{"type": "text", "text": text, "format": 1}]}
    return {"root": {"type": "root", "children": [paragraph]}}


def _sample_project() -> Project:
    media = media_from_doc({"id": "warm", "filename": "warm.png", "mimeType": "image/png"})
    doc = {
        "id": "warm",
        "title": "Warm-up brief",
        "logline": WARM_TEXT,
        "summary": _rich_text(WARM_TEXT),
        "coverImage": "warm",
        "media": ["warm"],
        "genre": "warm-up",
    }
    return project_from_doc(doc, [media], media_collection="media")


def _sample_script(project: Project) -> Script:
    doc = {"id": "warm", "title": "Warm-up script", "kind": "script", "body": _rich_text(WARM_TEXT)}
    return script_from_doc(doc, project, media_collection="media")
