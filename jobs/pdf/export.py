"""The PDF brief of a project: fetched from Payload, rendered by `jobs.pdf.brief`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cms_client import Media, Project, Script
from jobs.content import content_options, result_filename
from jobs.context import Artifact, ExportContext
from jobs.errors import ExportError
from jobs.media_files import download_media
from jobs.pdf.brief import BriefData, BriefError, BriefOptions, render_brief
from jobs.project_data import fetch_project, fetch_scripts, is_draft

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def build(ctx: ExportContext) -> Artifact:
    options = BriefOptions.model_validate(ctx.job.params.get("options") or {})
    ctx.progress.report("fetching project", 5)
    project = fetch_project(ctx)
    scripts = fetch_scripts(ctx, project)
    images = _download_images(ctx, images_shown(project, scripts, options))
    ctx.progress.report("rendering", 60)
    path = ctx.workdir / "brief.pdf"
    locale = content_options(ctx.job.params).locale
    draft = is_draft(project, scripts)
    data = BriefData(
        project=project,
        scripts=scripts,
        media=project.own_media(),
        images=images,
        exported_at=datetime.now(UTC),
        service_version=ctx.settings.service_version,
        locale=locale,
        draft=draft,
        export_request_id=ctx.job.request_doc_id,
    )
    try:
        info = render_brief(data, path, options=options, templates_dir=ctx.settings.templates_dir)
    except BriefError as exc:
        raise ExportError(f"the PDF brief could not be rendered: {exc}") from exc
    return Artifact(
        path=path,
        filename=result_filename(
            project.title or f"project-{ctx.project_id}", "brief.pdf", locale=locale, draft=draft
        ),
        mime_type="application/pdf",
        metadata={"pages": info.pages, "locale": locale, "draft": draft},
    )


def images_shown(project: Project, scripts: Sequence[Script], options: BriefOptions) -> list[Media]:
    """The project's images the brief shows: the cover, those in rich text, thumbnails if asked.

    Only the project's own media can be among them: rich text naming any other media item
    reaches this point as a placeholder (`cms_client.scrub`).
    """
    uploads = [*project.uploads, *(media_id for script in scripts for media_id in script.uploads)]
    wanted = {str(media_id) for media_id in uploads}
    if project.cover is not None:
        wanted.add(str(project.cover.id))
    return [
        item
        for item in project.own_media()
        if item.mime_type in IMAGE_TYPES and (options.includeThumbnails or str(item.id) in wanted)
    ]


def _download_images(ctx: ExportContext, wanted: list[Media]) -> dict[str, Path]:
    images: dict[str, Path] = {}
    for index, item in enumerate(wanted):
        ctx.progress.report("fetching images", 10 + 45 * index / len(wanted))
        path, _ = download_media(ctx, item, ctx.workdir / "images")
        images[str(item.id)] = path
    return images
