"""The function RQ runs for every export: `run_export(job_id)`.

It moves the job to `running`, reads what the export depends on and fingerprints it
(`jobs.fingerprint`); if an earlier successful export of the same project has the same
fingerprint, its Media is the result (`jobs.reuse`, `reused: true`) unless the request
says `options.fresh`. Otherwise it builds the artifact with the module for its export
type, uploads it to Payload Media with metadata linking it to the project, the export
request and the fingerprint, and records the outcome in Redis and on the Payload
document, with how long each stage took (`jobs.timings`). A failure is recorded as a
sentence a person can act on; the temporary folder is removed either way.
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
from jobs import fingerprint as fingerprints
from jobs import fleet, reuse
from jobs import metrics as job_metrics
from jobs import runtime as runtime_module
from jobs import timings as stages
from jobs.context import Artifact, ExportContext
from jobs.disk import disk_full_sentence, is_disk_full
from jobs.errors import ExportCancelled, ExportError, ExportInterrupted
from jobs.kinds import kind_of
from jobs.liveness import Heartbeat
from jobs.progress import Progress
from jobs.result_names import result_filename
from jobs.state import ExportType, JobState, JobStatus

logger = logging.getLogger(__name__)

Builder = Callable[[ExportContext], Artifact]
Dependencies = Callable[[ExportContext], dict[str, Any]]

#: The stage each export kind's build is timed as.
WORK_STAGE = {
    ExportType.PROJECT_PDF: stages.RENDER,
    ExportType.PROJECT_ZIP: stages.BUNDLE,
    ExportType.VIDEO: stages.TRANSCODE,
}


class ExportFailed(Exception):
    """Raised to RQ after the failure has been recorded, so RQ's registry agrees."""


def builder_for(export_type: ExportType) -> Builder:
    """The function that builds this kind of export (`jobs.kinds`)."""
    return kind_of(export_type).build


def dependencies_for(export_type: ExportType) -> Dependencies:
    """What an export kind's fingerprint covers (`jobs.kinds`)."""
    return kind_of(export_type).depends_on


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
            media, reused = _run(rt, progress)
    except ExportFailed as exc:
        cancelled = isinstance(exc.__cause__, ExportCancelled)
        outcome = "cancelled" if cancelled else "failed"
        job_metrics.finished(export_type, outcome, time.monotonic() - started)
        job_metrics.stages(export_type, progress.timings.ms)
        fleet.count_finished(rt.redis, export_type, outcome)
        if cancelled:  # a person's choice, not an error: RQ need not log a traceback
            return progress.state.public()
        raise
    progress.succeed(media, reused=reused)
    duration = time.monotonic() - started
    job_metrics.finished(export_type, "succeeded", duration)
    job_metrics.stages(export_type, progress.timings.ms)
    fleet.count_finished(rt.redis, export_type, "succeeded")
    if reused:
        job_metrics.reused(export_type)
    logger.info(
        "job %s: succeeded, media %s%s (%s)",
        progress.job_id,
        media.get("id"),
        " reused" if reused else "",
        progress.timings.summary(),
        extra={"duration": duration},
    )
    return progress.state.public()


def _run(rt: runtime_module.Runtime, progress: Progress) -> tuple[Doc, bool]:
    """Start, build and upload (or reuse); on any failure record the sentence and re-raise.

    Returns the result's Media and whether it was reused."""
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
        status = exc.status if isinstance(exc, ExportInterrupted) else JobStatus.FAILED
        progress.fail(sentence, status=status)
        logger.info(
            "job %s: %s: %s (%s)",
            job_id,
            status.value,
            sentence,
            progress.timings.summary(),
            extra={"duration": time.monotonic() - started},
        )
        raise ExportFailed(sentence) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _build_and_upload(ctx: ExportContext) -> tuple[Doc, bool]:
    timer = ctx.progress.timings
    with timer.stage(stages.FETCH):
        fingerprint = fingerprints.compute(ctx, dependencies_for(ctx.job.type)(ctx))
    ctx.progress.note_fingerprint(fingerprint)
    if not fingerprints.wants_fresh(ctx.job.params):
        with timer.stage(stages.REUSE):
            earlier = reuse.find(ctx, fingerprint)
        if earlier is not None:
            logger.info("job %s: reusing media %s", ctx.job.job_id, earlier.get("id"))
            return earlier, True
    with timer.stage(WORK_STAGE.get(ctx.job.type, stages.RENDER)):
        artifact = builder_for(ctx.job.type)(ctx)
    size = artifact.path.stat().st_size
    job_metrics.artifact_built(ctx.job.type, size)
    ctx.progress.report("upload", 90)
    with timer.stage(stages.UPLOAD):
        media = upload_artifact(ctx, artifact, fingerprint=fingerprint)
    job_metrics.uploaded(size)
    reuse.remember(ctx, fingerprint, media)
    return media, False


def upload_artifact(
    ctx: ExportContext, artifact: Artifact, *, fingerprint: str | None = None
) -> Doc:
    """Stream the artifact to Media, linked to its project and export request.

    The plugin's Media fields hold the link and `exportMeta` (JSON) holds everything the
    export kind reports; the same keys are also sent at the top level for deployments that
    model them as fields of their own (Payload ignores fields it does not know).
    """
    job = ctx.job
    metadata = {**artifact.metadata, **({"fingerprint": fingerprint} if fingerprint else {})}
    data: dict[str, Any] = {
        **metadata,
        "alt": f"{job.type.value} export of project {job.project_id}",
        "exportOf": job.project_id,
        "exportType": job.type.value,
        "bytes": artifact.path.stat().st_size,
        "exportMeta": metadata,
    }
    if job.request_doc_id is not None:
        data["exportRequest"] = job.request_doc_id
    return ctx.cms.upload(
        ctx.settings.collections.media,
        artifact.path,
        filename=result_filename(artifact.filename, job),
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
