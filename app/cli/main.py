"""`export-service`: run the service, run one export in the foreground, look at jobs.

    export-service web                      uvicorn serving app.main:app on $PORT (8000)
    export-service worker [--queues fast,bulk] [--burst] [--max-jobs N]
                                            an RQ worker on the export queues (fast first)
    export-service dev                      embedded Redis (unless REDIS_URL is set), the dev
                                            Payload (unless PAYLOAD_URL is set), web + worker
    export-service export pdf|zip|video PROJECT_ID [-o FILE] [--no-upload] [--option K=V]
                                            one export here, with a progress bar
    export-service jobs show JOB_ID         a job's state, as JSON
    export-service jobs list [--status S] [--limit N]
    export-service jobs cancel JOB_ID

Exit codes (scripts may rely on them):
    0  done
    1  the export failed (the job's error sentence is printed), or an internal error
    2  usage or configuration error (bad option, missing setting, key refused)
    3  not found (project, job)
    4  a dependency is unavailable (Redis, Payload)
    5  nothing to do (the job has already finished)
  130  interrupted (Ctrl-C)
Errors are one line on stderr, `export-service: …`; --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from redis.exceptions import RedisError

from app.errors import APIError
from app.settings import (
    DEFAULT_PORT,
    DEV_ENV_FILE,
    Settings,
    SettingsError,
    load_cli_settings,
    load_settings,
)
from cms_client import CMSError, CMSForbidden, CMSNotFound, CMSUnauthorized, CMSUnavailable
from jobs.state import JobStatus

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_NOT_FOUND = 3
EXIT_UNAVAILABLE = 4
EXIT_NOTHING_TO_DO = 5
EXIT_INTERRUPTED = 130

JOB_STATUSES = tuple(status.value for status in JobStatus)
DEFAULT_LIST_LIMIT = 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="export-service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    web = commands.add_parser("web", help="serve the HTTP API with uvicorn")
    web.add_argument("--host", default="0.0.0.0")
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    _add_worker_parser(commands)
    dev = commands.add_parser("dev", help="Redis + Payload + web + worker on this machine")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    dev.add_argument("--payload-port", type=int, default=3000)
    dev.add_argument(
        "--admin",
        action="store_true",
        help="start Payload with its admin UI and the Export buttons (Next.js; the first "
        "start builds it, ~2 minutes) instead of the REST-only dev Payload",
    )
    _add_export_parser(commands)
    _add_jobs_parser(commands)
    return parser


def _add_worker_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="run an RQ worker on the export queues",
        description=(
            "Take exports from the queues, one at a time, fast queue first. On SIGTERM, "
            "finish the export in hand within EXPORT_SHUTDOWN_GRACE_S, then exit. "
            "For a KEDA ScaledJob pod: --burst --max-jobs 1."
        ),
    )
    worker.add_argument(
        "--queues",
        metavar="Q[,Q]",
        help="listen only to these queues, in this order: fast, bulk or queue names "
        "(default: fast, bulk, then EXPORT_QUEUE); e.g. --queues bulk for dedicated bulk workers",
    )
    worker.add_argument(
        "--burst", action="store_true", help="exit once the queues are empty instead of waiting"
    )
    worker.add_argument(
        "--max-jobs", type=_positive, metavar="N", help="exit after running N exports"
    )


def _add_export_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from app.cli.export import KIND_NAMES

    export = commands.add_parser(
        "export",
        help="run one export in the foreground and write the file here",
        description=(
            "Run one export in this process, with a progress bar on stderr, and write the "
            "file locally; its path is printed on stdout. Unless --no-upload, an "
            "export-requests document is created and the file is uploaded to Media, as "
            "for any export. Uses REDIS_URL if set, else a private embedded Redis."
        ),
    )
    export.add_argument("kind", choices=sorted(KIND_NAMES), help="what to export")
    export.add_argument("project_id", metavar="PROJECT_ID", help="the project's Payload id")
    export.add_argument("-o", "--output", metavar="FILE", help="file or folder to write to")
    export.add_argument(
        "--no-upload",
        action="store_true",
        help="only write the file; nothing is written to Payload",
    )
    export.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a request field or option, e.g. includeMedia=true, paperSize=Letter, "
        "format=tar.gz, preset=720p-h264 (values are JSON when they parse as JSON)",
    )
    export.add_argument("--json", action="store_true", help="print the job as JSON on stdout")
    export.add_argument(
        "-v", "--verbose", action="store_true", help="log at LOG_LEVEL, not WARNING"
    )


def _add_jobs_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = commands.add_parser("jobs", help="show, list or cancel the service's jobs")
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="a job's state as JSON (Redis, else Payload)")
    show.add_argument("job_id", metavar="JOB_ID")
    listing = actions.add_parser("list", help="the jobs Redis holds, newest first")
    listing.add_argument("--status", choices=JOB_STATUSES)
    listing.add_argument("--limit", type=_positive, default=DEFAULT_LIST_LIMIT, metavar="N")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    cancel = actions.add_parser("cancel", help="stop a queued or running job")
    cancel.add_argument("job_id", metavar="JOB_ID")


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a number above 0")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("export-service: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code, message = exit_code_of(exc)
        if args.debug:
            traceback.print_exc()
        print(f"export-service: {message}", file=sys.stderr)
        return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "web":
        return run_web(args.host, args.port)
    if args.command == "worker":
        return run_worker(args.queues, burst=args.burst, max_jobs=args.max_jobs)
    if args.command == "dev":
        return run_dev(args.port, args.payload_port, admin=args.admin)
    if args.command == "export":
        return run_export_command(args)
    return run_jobs_command(args)


def exit_code_of(exc: Exception) -> tuple[int, str]:
    """The exit code and the one line printed for an error."""
    from app.cli.export import ExportRunFailed, UsageError
    from jobs.cancel import CannotCancel

    if isinstance(exc, SettingsError):
        return EXIT_CONFIG, f"configuration error: {exc}"
    if isinstance(exc, UsageError):
        return EXIT_CONFIG, str(exc)
    if isinstance(exc, ExportRunFailed):
        return EXIT_FAILED, f"export failed: {exc}"
    if isinstance(exc, CannotCancel):
        return EXIT_NOTHING_TO_DO, f"{exc}; there is nothing to cancel"
    if isinstance(exc, APIError):
        return _api_error_code(exc.status), exc.message
    if isinstance(exc, CMSError):
        return _cms_error_code(exc), str(exc)
    if isinstance(exc, RedisError):
        return EXIT_UNAVAILABLE, (
            f"Redis did not answer ({exc.__class__.__name__}); check REDIS_URL (or "
            "REDIS_SENTINELS) and that Redis is running"
        )
    if isinstance(exc, RuntimeError | OSError):
        return EXIT_FAILED, str(exc)
    return EXIT_FAILED, f"internal error ({exc.__class__.__name__}: {exc}); --debug shows where"


def _api_error_code(status: int) -> int:
    if status == 404:
        return EXIT_NOT_FOUND
    if status == 503:
        return EXIT_UNAVAILABLE
    return EXIT_CONFIG if status in (400, 401, 403, 422) else EXIT_FAILED


def _cms_error_code(exc: CMSError) -> int:
    if isinstance(exc, CMSNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, CMSUnavailable):
        return EXIT_UNAVAILABLE
    if isinstance(exc, CMSUnauthorized | CMSForbidden):
        return EXIT_CONFIG  # PAYLOAD_API_KEY refused, or its user lacks the export-service role
    return EXIT_FAILED


def _cli_settings(verbose: bool = False) -> Settings:
    """Settings, with logs (to stderr) quiet enough not to drown the command's output."""
    from app.logs import setup_logging

    settings = load_cli_settings()
    setup_logging(settings, level=None if verbose else "WARNING")
    return settings


def run_export_command(args: argparse.Namespace) -> int:
    from app.cli import export as cli_export

    request = cli_export.parse_request(
        args.kind,
        args.project_id,
        args.option,
        output=args.output,
        upload=not args.no_upload,
    )
    return cli_export.run(request, _cli_settings(args.verbose), as_json=args.json)


def run_jobs_command(args: argparse.Namespace) -> int:
    from app.cli import jobs as cli_jobs

    settings = _cli_settings()
    if args.action == "show":
        return cli_jobs.show(settings, args.job_id)
    if args.action == "cancel":
        return cli_jobs.cancel(settings, args.job_id)
    status = JobStatus(args.status) if args.status else None
    return cli_jobs.list_jobs(settings, status=status, limit=args.limit, as_json=args.json)


def run_web(host: str, port: int) -> int:
    import uvicorn

    from app.logs import setup_logging

    # Fail now, naming the variable, rather than inside the lifespan.
    setup_logging(load_settings())
    # log_config=None keeps our JSON handler; the app logs each request with its id.
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        proxy_headers=True,
        log_config=None,
        access_log=False,
    )
    return EXIT_OK


def run_worker(
    queues: str | None = None, *, burst: bool = False, max_jobs: int | None = None
) -> int:
    from rq import Queue

    from app.cli.export import UsageError
    from app.logs import setup_logging
    from app.metrics import serve_worker_metrics
    from jobs import connection, preload, runtime
    from jobs.metrics_archive import MetricsArchive
    from jobs.queue import worker_queue_names
    from jobs.worker import ExportWorker, WorkLimits, work_until_stopped

    settings = load_settings()
    setup_logging(settings)
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set; a worker needs the Redis the web app uses")
    try:
        names = worker_queue_names(settings, queues)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if settings.metrics_multiproc_dir is None:
        logging.getLogger(__name__).warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: this worker's export metrics are lost with "
            "each work horse (docs/deploy.md, Metrics)"
        )
    archive = None
    if settings.metrics_multiproc_dir is not None:
        archive = MetricsArchive(settings.metrics_multiproc_dir)
        archive.fold_leftovers()  # of workers and horses a crash left behind
    serve_worker_metrics(settings)
    # No socket timeout of ours: RQ sets one longer than its blocking dequeue.
    redis = connection.connect(settings.redis_url, patient=True, socket_timeout=None)
    runtime.install(runtime.build(settings, redis))
    preload.warm(settings)  # before the first fork: every work horse starts warm

    def make_worker() -> ExportWorker:
        worker = ExportWorker([Queue(n, connection=redis) for n in names], connection=redis)
        worker.shutdown_grace_s = settings.shutdown_grace_s
        worker.metrics_archive = archive
        return worker

    logging.getLogger(__name__).info(
        "worker on %s, Redis: %s", ", ".join(names), connection.describe(settings.redis_url)
    )
    work_until_stopped(make_worker, WorkLimits(burst=burst, max_jobs=max_jobs))
    return EXIT_OK


def run_dev(port: int, payload_port: int, *, admin: bool = False) -> int:
    """Everything a newcomer needs, in one process tree that Ctrl-C stops."""
    from app.cli import embedded

    env = dict(os.environ)
    redis_server = None
    payload = None
    data_dir = embedded.REPO_ROOT / ".data"
    env.setdefault("LOG_FORMAT", "text")
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(data_dir / "metrics"))
    if not env.get("REDIS_URL"):
        redis_server = embedded.start_redis(data_dir / "redis", socket=True)
        env["REDIS_URL"] = embedded.redis_url_of(redis_server)
        print(f"embedded Redis: {env['REDIS_URL']}")
    if not env.get("PAYLOAD_URL"):
        env.setdefault("EXPORT_WEBHOOK_SECRET", "dev-webhook-secret-" + secrets.token_hex(8))
        payload = embedded.start_dev_payload(
            port=payload_port,
            service_url=f"http://127.0.0.1:{port}",
            webhook_secret=env["EXPORT_WEBHOOK_SECRET"].split(",")[0],
            admin=admin,
        )
        env["PAYLOAD_URL"] = payload.url
        if admin:
            print(f"Payload admin: {payload.url}/admin  (editor@example.com / password123)")
        env["PAYLOAD_API_KEY"] = payload.seed["users"]["service"]["apiKey"]
    load_settings(env)
    dev_env = write_dev_env(data_dir, env)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
        ),
        subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env),
    ]
    _print_welcome(port, env, payload.seed if payload else None)
    print(f"the command line reads {dev_env} while this runs, e.g.\n  {CLI_EXAMPLE}\n", flush=True)
    try:
        return _wait(children)
    finally:
        dev_env.unlink(missing_ok=True)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            child.wait(timeout=30)
        if payload is not None:
            payload.stop()
        if redis_server is not None:
            redis_server.shutdown()


CLI_EXAMPLE = ".venv/bin/export-service export pdf 1 -o brief.pdf   # then: jobs list"
DEV_ENV_NAMES = ("PAYLOAD_URL", "PAYLOAD_API_KEY", "REDIS_URL")


def write_dev_env(data_dir: Path, env: dict[str, str]) -> Path:
    """What the CLI needs to reach this stack (its Payload, the service key, its Redis),
    readable by this user only, removed when the stack stops (`load_cli_settings`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_ENV_FILE
    lines = [f"# written by `export-service dev` (pid {os.getpid()}); removed when it stops"]
    lines += [f"{name}={env[name]}" for name in DEV_ENV_NAMES if env.get(name)]
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def fresh_metrics_dir(path: Path) -> Path:
    """An empty PROMETHEUS_MULTIPROC_DIR: web and worker share it; figures from an
    earlier run would otherwise be added to this one's."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _wait(children: list[subprocess.Popen[bytes]]) -> int:
    stop = {"now": False}

    def _stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop["now"]:
            for child in children:
                if child.poll() is not None:
                    print(
                        f"export-service: a child process exited with {child.returncode}",
                        file=sys.stderr,
                    )
                    return EXIT_FAILED
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _print_welcome(port: int, env: dict[str, str], seed: dict[str, object] | None) -> None:
    print(f"\nexport-service on http://127.0.0.1:{port}  (Payload: {env['PAYLOAD_URL']})")
    if seed:
        users = seed["users"]
        projects = seed["projects"]
        assert isinstance(users, dict) and isinstance(projects, dict)
        key = users["editor"]["apiKey"]
        print(
            "try an export as the seeded editor:\n"
            f"  curl -s -X POST http://127.0.0.1:{port}/exports/project-pdf \\\n"
            f"       -H 'Authorization: users API-Key {key}' \\\n"
            "       -H 'Content-Type: application/json' \\\n"
            f"       -d '{{\"projectId\": {projects['sample']}}}'\n"
            f"  curl -s http://127.0.0.1:{port}/jobs/<jobId> \\\n"
            f"       -H 'Authorization: users API-Key {key}'"
        )
    print("Ctrl-C stops everything.\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
