"""The PDF brief of a project: fetched from Payload, rendered by `jobs.pdf.brief`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cms_client import Doc
from jobs import fingerprint
from jobs.context import Artifact, ExportContext, ExportError
from jobs.lexical.html import FONTS_DIR
from jobs.media_files import download_media
from jobs.paths import slugify
from jobs.pdf.brief import (
    BriefData,
    BriefError,
    BriefOptions,
    render_brief,
    resolve_template_dirs,
)
from jobs.project_data import ProjectData, load
from jobs.timings import FETCH

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: Images downloaded at once (small files: the round trip dominates).
DOWNLOAD_THREADS = 4


@dataclass(frozen=True)
class BriefInputs:
    """Everything read from Payload that the brief shows, except the image files."""

    data: ProjectData
    inline: list[Doc]
    options: BriefOptions


def inputs(ctx: ExportContext) -> BriefInputs:
    """The project, its scripts and the media its rich text shows, read once per job."""
    options = BriefOptions.model_validate(ctx.job.params.get("options") or {})
    key = "brief:" + options.model_dump_json()
    cached = ctx.fetched.get(key)
    if isinstance(cached, BriefInputs):
        return cached
    ctx.progress.report("fetching project", 5)
    data = load(ctx)
    bodies = [data.project.get("summary"), *(s.get("body") for s in data.scripts)]
    found = BriefInputs(data, _inline_media(ctx, bodies, data.media), options)
    ctx.fetched[key] = found
    return found


def depends_on(ctx: ExportContext) -> dict[str, Any]:
    """What the brief's fingerprint covers (`jobs.fingerprint`)."""
    found = inputs(ctx)
    template_dirs = resolve_template_dirs(found.options.template, ctx.settings.templates_dir)
    return {
        "data": fingerprint.docs_digest([found.data.project, *found.data.scripts, *found.inline]),
        # Options as validated (defaults filled in), so `{}` and `{"paperSize": "A4"}` match.
        "params": {k: v for k, v in ctx.job.params.items() if k != "options"},
        "options": found.options.model_dump(exclude={"fresh"}),
        "template": fingerprint.files_digest([*template_dirs, FONTS_DIR]),
        "renderer": fingerprint.renderer_versions(),
    }


def build(ctx: ExportContext) -> Artifact:
    found = inputs(ctx)
    options, project, scripts, media = (
        found.options,
        found.data.project,
        found.data.scripts,
        found.data.media,
    )
    with ctx.progress.timings.stage(FETCH):
        images = _download_images(ctx, project, media, options, found.inline)
    ctx.progress.report("rendering", 60)
    path = ctx.workdir / "brief.pdf"
    data = BriefData(
        project=project,
        scripts=scripts,
        media=media,
        images=images,
        exported_at=datetime.now(UTC),
        service_version=ctx.settings.service_version,
    )
    try:
        info = render_brief(data, path, options=options, templates_dir=ctx.settings.templates_dir)
    except BriefError as exc:
        raise ExportError(f"the PDF brief could not be rendered: {exc}") from exc
    title = str(project.get("title") or f"project-{ctx.project_id}")
    return Artifact(
        path=path,
        filename=f"{slugify(title)}-brief.pdf",
        mime_type="application/pdf",
        metadata={"pages": info.pages},
    )


def _inline_media(ctx: ExportContext, bodies: list[Any], known: list[Doc]) -> list[Doc]:
    """Media docs of images uploaded inside rich text that the project does not list."""
    known_ids = {m.get("id") for m in known}
    wanted = sorted(upload_ids(bodies) - known_ids, key=str)
    if not wanted:
        return []
    return list(
        ctx.cms.find_all(ctx.settings.collections.media, where={"id": {"in": wanted}}, depth=0)
    )


def upload_ids(bodies: list[Any]) -> set[Any]:
    """Ids of the media in every Lexical `upload` node of these rich-text values."""
    found: set[Any] = set()
    stack = [b for b in bodies if b is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("type") == "upload":
                value = node.get("value")
                value = value.get("id") if isinstance(value, dict) else value
                if isinstance(value, int | str):
                    found.add(value)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
    return found


def _download_images(
    ctx: ExportContext,
    project: Doc,
    media: list[Doc],
    options: BriefOptions,
    inline: list[Doc],
) -> dict[str, Path]:
    """Download the images the brief shows: the cover, inline images, thumbnails if asked."""
    cover = project.get("coverImage")
    cover_id = cover.get("id") if isinstance(cover, dict) else None
    wanted = [
        m
        for m in media
        if m.get("mimeType") in IMAGE_TYPES
        and (options.includeThumbnails or m.get("id") == cover_id)
    ] + [m for m in inline if m.get("mimeType") in IMAGE_TYPES]
    images: dict[str, Path] = {}
    if not wanted:
        return images
    folder = ctx.workdir / "images"
    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS, thread_name_prefix="image") as pool:
        futures = {pool.submit(download_media, ctx, item, folder): item for item in wanted}
        for done, future in enumerate(as_completed(futures), start=1):
            path, _ = future.result()
            images[str(futures[future].get("id"))] = path
            ctx.progress.report("fetching images", 10 + 45 * done / len(wanted))
    return images
