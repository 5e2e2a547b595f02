"""The video export: a project's timeline rendered with a preset, for Payload Media.

The job re-reads the project and its media (they may have changed since the request was
checked), resolves the timeline into a `RenderPlan`, has the engine chosen by the
settings render it (`jobs.video.engine`), and returns the file with its derivative
metadata; the runner uploads it. Progress: 1 while checking, the engine's stages up to
88, then the runner's upload from 90.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cms_client import Project
from jobs import disk, fingerprint
from jobs.content import content_options
from jobs.context import Artifact, ExportContext
from jobs.errors import ExportError
from jobs.media_files import download_media
from jobs.paths import slugify
from jobs.project_data import fetch_project
from jobs.video.engine import (
    RenderRequest,
    RenderResult,
    StageProgress,
    VideoEngine,
    engine_for,
)
from jobs.video.timeline import RenderPlan, Source, TimelineError, plan_for
from jobs.zip.archive import sha256_file

logger = logging.getLogger(__name__)

#: Encoders overshoot a target bit rate; the output estimate allows for it.
OUTPUT_MARGIN = 1.25


def depends_on(ctx: ExportContext) -> dict[str, Any]:
    """What the video's fingerprint covers (`jobs.fingerprint`): the project with its
    media documents (their sha256, size and updatedAt), the timeline, preset and engine."""
    return {
        "data": fingerprint.docs_digest([_project(ctx).to_json()]),
        "params": fingerprint.other_params(ctx.job.params),
        # As validated (defaults filled in), so `{}`, `{"fresh": true}` and `{"draft": false}`
        # are the same video.
        "content": content_options(ctx.job.params).model_dump(exclude={"fresh"}),
        "engine": "services" if ctx.settings.video.configured else "local",
    }


def _project(ctx: ExportContext) -> Project:
    cached = ctx.fetched.get("video-project")
    if isinstance(cached, Project):
        return cached
    project = fetch_project(ctx)
    ctx.fetched["video-project"] = project
    return project


def build(ctx: ExportContext, *, engine: VideoEngine | None = None) -> Artifact:
    ctx.progress.report("checking timeline", 1)
    project = _project(ctx)
    try:
        plan = plan_for(ctx.job.params, project, max_seconds=ctx.settings.limits.max_video_seconds)
    except TimelineError as exc:
        raise ExportError(f"the timeline cannot be rendered: {exc.message}") from exc
    engine = engine or engine_for(ctx.settings)
    _check_free_disk(ctx, plan, engine)
    logger.info(
        "job %s: %s engine, preset %s, %.1f s from %d media items",
        ctx.job.job_id,
        engine.name,
        plan.preset.name,
        plan.duration_s,
        len(plan.sources),
    )
    result = engine.render(render_request(ctx, plan, engine))
    title = project.title or f"project-{ctx.project_id}"
    return Artifact(
        path=result.path,
        filename=f"{slugify(title)}-{plan.preset.name}{plan.preset.extension}",
        mime_type=plan.preset.mime_type,
        metadata=derivative_metadata(plan, result, engine.name),
    )


def _check_free_disk(ctx: ExportContext, plan: RenderPlan, engine: VideoEngine) -> None:
    """The sources (when this worker renders) and the output at the preset's bit rates."""
    preset = plan.preset
    kbps = preset.video_bitrate_kbps + preset.audio_bitrate_kbps
    output = int(plan.duration_s * kbps * 1000 / 8 * OUTPUT_MARGIN)
    sources = sum(s.filesize or 0 for s in plan.sources) if engine.name == "local" else 0
    needed = sources + output + disk.OVERHEAD_BYTES
    free = disk.free_disk_bytes(ctx.workdir)
    reserve = ctx.settings.limits.min_free_temp_bytes
    disk.ensure_room("the video", needed=needed, free=free, reserve=reserve)


def render_request(ctx: ExportContext, plan: RenderPlan, engine: VideoEngine) -> RenderRequest:
    def fetch(source: Source, folder: Path) -> Path:
        return download_media(ctx, source.media, folder)

    def media_url(source: Source) -> str:
        return ctx.cms.absolute_url(source.url)

    def should_stop() -> bool:
        return ctx.progress.stop_request() is not None

    return RenderRequest(
        job_id=ctx.job.job_id,
        plan=plan,
        workdir=ctx.workdir,
        progress=StageProgress(ctx.progress.report, engine.stages),
        fetch_media=fetch,
        media_url=media_url,
        should_stop=should_stop,
    )


def derivative_metadata(plan: RenderPlan, result: RenderResult, engine: str) -> dict[str, Any]:
    """What the Media document records about the derivative (the runner adds the rest)."""
    info = result.info
    return {
        "preset": plan.preset.name,
        "duration": round(info.duration_s, 3),
        "width": info.width,
        "height": info.height,
        "codec": info.video_codec or info.audio_codec,
        "audioCodec": info.audio_codec,
        "sha256": result.sha256 or sha256_file(result.path),
        "sourceMediaIds": plan.media_ids,
        "engine": engine,
    }
