"""The PDF brief of a project: fetched from Payload, rendered by `jobs.pdf.brief`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cms_client import Doc
from jobs import disk
from jobs.context import Artifact, ExportContext, ExportError
from jobs.media_files import download_media
from jobs.paths import slugify
from jobs.pdf.brief import BriefData, BriefError, BriefOptions, render_brief
from jobs.project_data import fetch_project, fetch_scripts, project_media

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def build(ctx: ExportContext) -> Artifact:
    options = BriefOptions.model_validate(ctx.job.params.get("options") or {})
    ctx.progress.report("fetching project", 5)
    project = fetch_project(ctx, depth=1)
    scripts = fetch_scripts(ctx)
    media = project_media(project)
    inline = _inline_media(ctx, [project.get("summary"), *(s.get("body") for s in scripts)], media)
    wanted = _wanted_images(project, media, options, inline)
    _check_free_disk(ctx, wanted)
    images = _download_images(ctx, wanted)
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


def _wanted_images(
    project: Doc, media: list[Doc], options: BriefOptions, inline: list[Doc]
) -> list[Doc]:
    """The images the brief shows: the cover, inline images, thumbnails if asked."""
    cover = project.get("coverImage")
    cover_id = cover.get("id") if isinstance(cover, dict) else None
    return [
        m
        for m in media
        if m.get("mimeType") in IMAGE_TYPES
        and (options.includeThumbnails or m.get("id") == cover_id)
    ] + [m for m in inline if m.get("mimeType") in IMAGE_TYPES]


def _check_free_disk(ctx: ExportContext, wanted: list[Doc]) -> None:
    """The images, and a PDF that embeds them again, must fit with the reserve left."""
    image_bytes = sum(m.get("filesize") or 0 for m in wanted if isinstance(m.get("filesize"), int))
    needed = 2 * image_bytes + disk.OVERHEAD_BYTES
    free = disk.free_disk_bytes(ctx.workdir)
    reserve = ctx.settings.limits.min_free_temp_bytes
    disk.ensure_room("the PDF brief", needed=needed, free=free, reserve=reserve)


def _download_images(ctx: ExportContext, wanted: list[Doc]) -> dict[str, Path]:
    """Download the images the brief shows into the work folder."""
    images: dict[str, Path] = {}
    for index, item in enumerate(wanted):
        ctx.progress.report("fetching images", 10 + 45 * index / len(wanted))
        path, _ = download_media(ctx, item, ctx.workdir / "images")
        images[str(item.get("id"))] = path
    return images
