"""The PDF brief of a project: fetched from Payload, rendered by `jobs.pdf.brief`."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cms_client import Media, Project, Script
from jobs import disk, fingerprint
from jobs.content import artifact_name, content_options
from jobs.context import Artifact, ExportContext
from jobs.errors import ExportError
from jobs.lexical.html import FONTS_DIR
from jobs.media_files import download_media
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
    options: BriefOptions


def inputs(ctx: ExportContext) -> BriefInputs:
    """The project and its scripts, and the options, read once per job."""
    options = BriefOptions.model_validate(ctx.job.params.get("options") or {})
    ctx.progress.report("fetching project", 5)
    return BriefInputs(load(ctx), options)


def depends_on(ctx: ExportContext) -> dict[str, Any]:
    """What the brief's fingerprint covers (`jobs.fingerprint`)."""
    found = inputs(ctx)
    try:
        template_dirs = resolve_template_dirs(found.options.template, ctx.settings.templates_dir)
    except BriefError as exc:
        raise ExportError(f"the PDF brief could not be rendered: {exc}") from exc
    project, scripts = found.data.project, found.data.scripts
    return {
        "data": fingerprint.docs_digest([project.to_json(), *(s.to_json() for s in scripts)]),
        # Options as validated (defaults filled in), so `{}` and `{"paperSize": "A4"}` match.
        "params": fingerprint.other_params(ctx.job.params),
        "options": found.options.model_dump(exclude={"fresh"}),
        "template": fingerprint.files_digest([*template_dirs, FONTS_DIR]),
        "renderer": fingerprint.renderer_versions(),
    }


def build(ctx: ExportContext) -> Artifact:
    found = inputs(ctx)
    options, project, scripts = found.options, found.data.project, found.data.scripts
    wanted = images_shown(project, scripts, options)
    _check_free_disk(ctx, wanted)
    with ctx.progress.timings.stage(FETCH):
        images = _download_images(ctx, wanted)
    ctx.progress.report("rendering", 60)
    path = ctx.workdir / "brief.pdf"
    locale = content_options(ctx.job.params).locale
    draft = found.data.is_draft
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
        filename=artifact_name(
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


def _check_free_disk(ctx: ExportContext, wanted: list[Media]) -> None:
    """The images, and a PDF that embeds them again, must fit with the reserve left."""
    image_bytes = sum(m.filesize or 0 for m in wanted)
    needed = 2 * image_bytes + disk.OVERHEAD_BYTES
    free = disk.free_disk_bytes(ctx.workdir)
    reserve = ctx.settings.limits.min_free_temp_bytes
    disk.ensure_room("the PDF brief", needed=needed, free=free, reserve=reserve)


def _download_images(ctx: ExportContext, wanted: list[Media]) -> dict[str, Path]:
    """Download the images, a few at once; progress moves as each one arrives."""
    images: dict[str, Path] = {}
    if not wanted:
        return images
    folder = ctx.workdir / "images"
    with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS, thread_name_prefix="image") as pool:
        futures = {pool.submit(download_media, ctx, item, folder): item for item in wanted}
        for done, future in enumerate(as_completed(futures), start=1):
            images[str(futures[future].id)] = future.result()
            ctx.progress.report("fetching images", 10 + 45 * done / len(wanted))
    return images
