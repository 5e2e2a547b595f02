"""`export-service`: run the web process, a worker, or everything at once for development.

export-service web       uvicorn serving app.main:app on $PORT (default 8000)
export-service worker    an RQ worker on the export queue
export-service dev       embedded Redis (unless REDIS_URL is set), the dev Payload
                         (unless PAYLOAD_URL is set), the web process and one worker
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from app.settings import DEFAULT_PORT, SettingsError, load_settings

logger = logging.getLogger("export_service")

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="export-service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    web = commands.add_parser("web", help="serve the HTTP API with uvicorn")
    web.add_argument("--host", default="0.0.0.0")
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    commands.add_parser("worker", help="run an RQ worker on the export queue")
    dev = commands.add_parser("dev", help="Redis + Payload + web + worker on this machine")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    dev.add_argument("--payload-port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.command == "web":
            return run_web(args.host, args.port)
        if args.command == "worker":
            return run_worker()
        return run_dev(args.port, args.payload_port)
    except SettingsError as exc:
        print(f"export-service: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except RuntimeError as exc:
        print(f"export-service: {exc}", file=sys.stderr)
        return EXIT_FAILED


def run_web(host: str, port: int) -> int:
    import uvicorn

    load_settings()  # fail now, naming the variable, rather than inside the lifespan
    uvicorn.run("app.main:app", host=host, port=port, proxy_headers=True)
    return EXIT_OK


def run_worker() -> int:
    from redis import Redis
    from rq import Queue

    from jobs import runtime
    from jobs.worker import ExportWorker

    settings = load_settings()
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set; a worker needs the Redis the web app uses")
    redis = Redis.from_url(settings.redis_url)
    runtime.install(runtime.build(settings, redis))
    worker = ExportWorker([Queue(settings.queue_name, connection=redis)], connection=redis)
    worker.shutdown_grace_s = settings.shutdown_grace_s
    worker.work()
    return EXIT_OK


def run_dev(port: int, payload_port: int) -> int:
    """Everything a newcomer needs, in one process tree that Ctrl-C stops."""
    from app import embedded

    env = dict(os.environ)
    redis_server = None
    payload = None
    if not env.get("REDIS_URL"):
        data_dir = embedded.REPO_ROOT / ".data"
        redis_server = embedded.start_redis(data_dir / "redis")
        env["REDIS_URL"] = embedded.redis_url_of(redis_server)
        print(f"embedded Redis: {env['REDIS_URL']}")
    if not env.get("PAYLOAD_URL"):
        env.setdefault("EXPORT_WEBHOOK_SECRET", "dev-webhook-secret-" + secrets.token_hex(8))
        payload = embedded.start_dev_payload(
            port=payload_port,
            service_url=f"http://127.0.0.1:{port}",
            webhook_secret=env["EXPORT_WEBHOOK_SECRET"].split(",")[0],
        )
        env["PAYLOAD_URL"] = payload.url
        env["PAYLOAD_API_KEY"] = payload.seed["users"]["service"]["apiKey"]
    load_settings(env)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
        ),
        subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env),
    ]
    _print_welcome(port, env, payload.seed if payload else None)
    try:
        return _wait(children)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            child.wait(timeout=30)
        if payload is not None:
            payload.stop()
        if redis_server is not None:
            redis_server.shutdown()


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
