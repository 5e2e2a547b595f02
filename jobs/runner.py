"""The function RQ runs for every export: `run_export(job_id)`.

It moves the job to `running`, builds the artifact with the module for its export type,
uploads it to Payload Media with metadata linking it to the project and the export
request, and records the outcome in Redis and on the Payload document. A failure is
recorded as a sentence a person can act on; the temporary folder is removed either way.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.logs import log_context
from cms_client import CMSError, Doc
from jobs import metrics as job_metrics
from jobs import runtime as runtime_module
from jobs.context import Artifact, ExportCancelled, ExportContext, ExportError
from jobs.disk import disk_full_sentence, is_disk_full
from jobs.liveness import Heartbeat
from jobs.progress import Progress
from jobs.state import ExportType, JobState

logger = logging.getLogger(__name__)

Builder = Callable[[ExportContext], Artifact]


class ExportFailed(Exception):
    """Raised to RQ after the failure has been recorded, so RQ's registry agrees."""


def builder_for(export_type: ExportType) -> Builder:
    # Imported here so the web process, which imports jobs.queue, stays light.
    if export_type is ExportType.PROJECT_PDF:
        from jobs.pdf import export as project_pdf

        return project_pdf.build
    if export_type is ExportType.PROJECT_ZIP:
        from jobs.zip import export as project_zip

        return project_zip.build
    if export_type is ExportType.VIDEO:
        from jobs.video import export as video

        return video.build
    raise ExportError(f"{export_type.value} exports are not available on this worker")


def run_export(job_id: str) -> dict[str, Any]:
    """Run one export to its end and return its public state."""
    rt = runtime_module.current()
    state = rt.store.get(job_id)
    if state is None:
        raise ExportFailed(f"job {job_id} has no state in Redis (expired or never submitted)")
    # Observability: every line logged below carries the job and project ids.
    with log_context(job_id=job_id, project_id=state.project_id):
        if state.status.is_terminal:  # e.g. cancelled while it waited in the queue
            logger.info("job %s: already %s, not started", job_id, state.status.value)
            return state.public()
        return _run_measured(rt, Progress(rt, state))


def _run_measured(rt: runtime_module.Runtime, progress: Progress) -> dict[str, Any]:
    """`_run`, counted and timed by outcome (jobs/metrics.py)."""
    export_type, started = progress.state.type, time.monotonic()
    try:
        with Heartbeat(rt.redis, progress.job_id, ttl_s=rt.settings.heartbeat_ttl_s):
            media = _run(rt, progress)
    except ExportFailed as exc:
        cancelled = isinstance(exc.__cause__, ExportCancelled)
        outcome = "cancelled" if cancelled else "failed"
        job_metrics.finished(export_type, outcome, time.monotonic() - started)
        raise
    progress.succeed(media)
    duration = time.monotonic() - started
    job_metrics.finished(export_type, "succeeded", duration)
    job_id, media_id = progress.job_id, media.get("id")
    logger.info("job %s: succeeded, media %s", job_id, media_id, extra={"duration": duration})
    return progress.state.public()


def _run(rt: runtime_module.Runtime, progress: Progress) -> Doc:
    """Start, build and upload; on any failure record the sentence and re-raise."""
    job_id = progress.job_id
    workdir = Path(tempfile.mkdtemp(prefix=f"export-{job_id}-", dir=rt.settings.temp_dir))
    started = time.monotonic()
    try:
        progress.start()
        progress.check_cancelled()
        logger.info(
            "job %s: %s export of project %s started",
            job_id,
            progress.state.type.value,
            progress.state.project_id,
        )
        ctx = ExportContext(
            job=progress.state, settings=rt.settings, cms=rt.cms, workdir=workdir, progress=progress
        )
        return _build_and_upload(ctx)
    except Exception as exc:
        sentence = failure_sentence(exc, progress.state, workdir)
        progress.fail(sentence)
        logger.info(
            "job %s: failed: %s", job_id, sentence, extra={"duration": time.monotonic() - started}
        )
        raise ExportFailed(sentence) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _build_and_upload(ctx: ExportContext) -> Doc:
    artifact = builder_for(ctx.job.type)(ctx)
    size = artifact.path.stat().st_size
    job_metrics.artifact_built(ctx.job.type, size)
    ctx.progress.report("upload", 90)
    media = upload_artifact(ctx, artifact)
    job_metrics.uploaded(size)
    return media


def upload_artifact(ctx: ExportContext, artifact: Artifact) -> Doc:
    """Stream the artifact to Media, linked to its project and export request.

    The plugin's Media fields hold the link and `exportMeta` (JSON) holds everything the
    export kind reports; the same keys are also sent at the top level for deployments that
    model them as fields of their own (Payload ignores fields it does not know).
    """
    job = ctx.job
    data: dict[str, Any] = {
        **artifact.metadata,
        "alt": f"{job.type.value} export of project {job.project_id}",
        "exportOf": job.project_id,
        "exportType": job.type.value,
        "bytes": artifact.path.stat().st_size,
        "exportMeta": artifact.metadata,
    }
    if job.request_doc_id is not None:
        data["exportRequest"] = job.request_doc_id
    return ctx.cms.upload(
        ctx.settings.collections.media,
        artifact.path,
        filename=artifact.filename,
        mime_type=artifact.mime_type,
        data=data,
    )


def failure_sentence(exc: BaseException, state: JobState, workdir: Path | None = None) -> str:
    """What went wrong, in words a person can act on."""
    if is_disk_full(exc):
        logger.warning("job %s: the temp disk is full: %s", state.job_id, exc)
        return disk_full_sentence(state.stage, workdir)
    if isinstance(exc, ExportError):
        return str(exc)
    if isinstance(exc, CMSError):
        return f"{exc} (while {state.stage or 'starting'}; nothing was uploaded)"
    logger.exception("job %s: unexpected error", state.job_id, exc_info=exc)
    return (
        f"internal error while {state.stage or 'starting'} ({exc.__class__.__name__}); "
        "nothing was uploaded; the worker log has the details under this job id"
    )
