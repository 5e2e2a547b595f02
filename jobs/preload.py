"""Warm a worker before it forks, so every work horse starts with the heavy lifting done.

RQ forks a work horse per job (a crashing render cannot take the worker down). Whatever
the parent has imported and initialised, the child inherits for free; whatever it has
not, every job pays again (~470 ms for the PDF brief: xhtml2pdf, ReportLab and its TTF
parsing, Jinja, PIL, pypdf). `warm(settings)` imports every export kind, renders a
sample brief with the configured template a few times (every shipped font face, an
image, every layout a brief has) and hashes the template's files for the fingerprint
(`jobs.fingerprint`); then it freezes the garbage collector's view of those objects, so
children neither scan nor copy their pages.

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
#: The kinds of script the brief lays out differently (`script` is a screenplay).
KINDS = ("script", "story", "treatment")
#: Renders of the sample: enough for CPython to specialise the hot code (after ~8 runs of
#: a function; a brief runs most of its layout code hundreds of times a render).
WARM_RENDERS = 3


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
    """Render a brief with every layout the real ones use, a few times over.

    Not just for the imports: CPython specialises the code it runs often (3.11+), and a
    work horse keeps what its parent learnt. A child running layouts its parent never ran
    (screenplays, tables, lists, the table of contents over pages) pays that again on
    every job, ~20% of a brief's render.
    """
    from jobs.pdf.brief import BriefData, BriefOptions, render_brief

    with tempfile.TemporaryDirectory(prefix="export-warm-", dir=settings.temp_dir) as tmp:
        folder = Path(tmp)
        image = _sample_image(folder)
        project = _sample_project()
        data = BriefData(
            project=project,
            scripts=[_sample_script(project, kind, order) for order, kind in enumerate(KINDS)],
            media=project.own_media(),
            images={"warm": image},
            exported_at=datetime(2026, 1, 1, tzinfo=UTC),
            service_version=settings.service_version,
        )
        for _ in range(WARM_RENDERS):
            render_brief(
                data,
                folder / "warm.pdf",
                options=BriefOptions(),
                templates_dir=settings.templates_dir,
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


def _text(value: str, fmt: int = 0) -> dict[str, Any]:
    return {"type": "text", "text": value, "format": fmt}


def _paragraph(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "children": list(children)}


def _rich_text(*children: dict[str, Any]) -> dict[str, Any]:
    return {"root": {"type": "root", "children": list(children)}}


def _sample_body(kind: str) -> dict[str, Any]:
    """A few pages of what scripts hold: headings, styled prose, a list, a quote, a table;
    a screenplay's scene headings, cues and parentheticals for `script`."""
    if kind == "script":
        lines = ["INT. LAMP ROOM — NIGHT", "The lens turns. The keeper watches the water."]
        lines += ["KEEPER", "(quietly)", "Not tonight.", "CUT TO:"] * 6
        return _rich_text(*(_paragraph(_text(line)) for line in lines))
    item = {"type": "listitem", "children": [_text(WARM_TEXT)]}
    cell = {"type": "tablecell", "headerState": 0, "children": [_paragraph(_text("cell"))]}
    row = {"type": "tablerow", "children": [cell, cell, cell]}
    prose = [_paragraph(_text(WARM_TEXT), _text(" bold", 1), _text(" italic", 2))] * 12
    return _rich_text(
        {"type": "heading", "tag": "h1", "children": [_text("Part one")]},
        *prose,
        {"type": "list", "listType": "bullet", "children": [item] * 4},
        {"type": "quote", "children": [_text(WARM_TEXT)]},
        {"type": "heading", "tag": "h2", "children": [_text("Figures")]},
        {"type": "table", "children": [row] * 12},
        *prose,
    )


def _sample_project() -> Project:
    media = media_from_doc({"id": "warm", "filename": "warm.png", "mimeType": "image/png"})
    doc = {
        "id": "warm",
        "title": "Warm-up brief",
        "logline": WARM_TEXT,
        "summary": _rich_text(_paragraph(_text(WARM_TEXT, 1))),
        "coverImage": "warm",
        "media": ["warm"],
        "genre": "warm-up",
        "team": [
            {"name": "A. Writer", "role": "Writer"},
            {"name": "B. Director", "role": "Director"},
        ],
    }
    return project_from_doc(doc, [media], media_collection="media")


def _sample_script(project: Project, kind: str, order: int) -> Script:
    doc = {
        "id": f"warm-{kind}",
        "title": f"Warm-up {kind}",
        "kind": kind,
        "order": order,
        "body": _sample_body(kind),
    }
    return script_from_doc(doc, project, media_collection="media")
