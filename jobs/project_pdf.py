"""The PDF brief of a project: fetched from Payload, rendered by `jobs.brief`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cms_client import Doc
from jobs.brief import BriefData, BriefError, BriefOptions, render_brief
from jobs.context import Artifact, ExportContext, ExportError
from jobs.media_files import download_media
from jobs.paths import slugify
from jobs.project_data import fetch_project, fetch_scripts, project_media

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def build(ctx: ExportContext) -> Artifact:
    options = BriefOptions.model_validate(ctx.job.params.get("options") or {})
    ctx.progress.report("fetching project", 5)
    project = fetch_project(ctx, depth=1)
    scripts = fetch_scripts(ctx)
    media = project_media(project)
    images = _download_images(ctx, project, media, options)
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


def _download_images(
    ctx: ExportContext, project: Doc, media: list[Doc], options: BriefOptions
) -> dict[str, Path]:
    """Download the images the brief shows: the cover, and thumbnails if asked for."""
    cover = project.get("coverImage")
    cover_id = cover.get("id") if isinstance(cover, dict) else None
    wanted = [
        m
        for m in media
        if m.get("mimeType") in IMAGE_TYPES
        and (options.includeThumbnails or m.get("id") == cover_id)
    ]
    images: dict[str, Path] = {}
    for index, item in enumerate(wanted):
        ctx.progress.report("fetching images", 10 + 45 * index / len(wanted))
        path, _ = download_media(ctx, item, ctx.workdir / "images")
        images[str(item.get("id"))] = path
    return images
