"""Checking a video export request before anything is queued: preset, timeline, media.

The project is read with the caller's own credentials, so a timeline can only use media
Payload lets them see. Any problem is a 422 naming the field (`timeline.clips[2].out`).
"""

from __future__ import annotations

from typing import Any

from app.errors import APIError
from app.schemas import VideoExportRequest
from app.settings import Settings
from cms_client import PayloadClient
from jobs.video.timeline import TimelineError, plan_for, preset_named


def check_video_request(
    cms: PayloadClient, settings: Settings, body: VideoExportRequest
) -> dict[str, Any]:
    """The job's params for a request that can be rendered (blocking: run in a threadpool).

    The resolved timeline goes into the params, so the job renders what was checked even
    if the project's own `timeline` changes meanwhile.
    """
    try:
        preset_named(body.preset)
        project = cms.get(settings.collections.projects, body.projectId, depth=1)
        plan = plan_for(
            {"preset": body.preset, "timeline": body.timeline},
            project,
            max_seconds=settings.limits.max_video_seconds,
        )
    except TimelineError as exc:
        raise APIError(422, "invalid_field", exc.message, field=exc.field) from exc
    params: dict[str, Any] = {"preset": plan.preset.name, "timeline": plan.timeline}
    if body.options is not None and body.options.fresh:
        params["options"] = {"fresh": True}
    return params
