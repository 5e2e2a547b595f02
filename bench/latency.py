"""What people wait for: POST → `succeeded`, per kind and per stage, before and after.

    .venv/bin/python bench/latency.py [--runs 15] [--burst 20] [--baseline 67c9ebf]

One run, one stub Payload over HTTP (tests/payload_stub.py behind bench/fake_payload.py:
the seeded project with 10 scripts and 2 images), one Redis, the web process (uvicorn)
of this checkout, and workers started per phase:

* baseline -- `export-service worker` of the `--baseline` git ref (exported to a temp
              folder): cold work horses, one PATCH per stage change, no reuse;
* ours     -- this checkout's worker (warm work horses, coalesced write-backs);
              `options.fresh` so every export renders, then the same export again
              without it (a re-export of an unchanged project: reused, no new Media);
* burst    -- 20 fresh PDF exports at once, 1 worker then 2 (jobs/s);
* floor    -- a warm in-process render of the same brief (what the render stage can
              reach), measured in this process.

Printed: p50/p90 POST → succeeded per kind, our per-stage p50 from the jobs' own
timings, and ratios against the baseline measured in the same run. The machine is
shared: compare ratios, run it twice.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fake_payload import FakePayload  # noqa: E402
from bench.fault_injection import RedisServer, free_port  # noqa: E402
from jobs.state import EVENTS_PREFIX, TERMINAL_STATUSES, JobState, JobStore  # noqa: E402
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, lexical, seed  # noqa: E402

TERMINAL = {status.value for status in TERMINAL_STATUSES}
AUTH = {"Authorization": f"users API-Key {EDITOR_KEY}"}
SECTIONS = 10
KINDS: dict[str, dict[str, Any]] = {
    "pdf": {"path": "project-pdf", "body": {}},
    "zip": {"path": "project-zip", "body": {"includeMedia": True}},
}


#: The service as it was before warm workers, result reuse and coalesced write-backs.
BASELINE_REF = "67c9ebf"


def seeded_stub() -> PayloadStub:
    stub = PayloadStub(None)
    seed(stub)
    for order in range(4, SECTIONS + 1):
        text = [f"Scene {order}, beat {n}: the keeper climbs the stairs at dusk." for n in range(8)]
        stub.add("scripts", {"title": f"Draft {order}", "project": 17, "kind": "script",
                             "order": order, "body": lexical(*text)})  # fmt: skip
    return stub


class Endings:
    """When each job reached a final state, heard on the states workers publish
    (`export:events:<jobId>`): no polling, which would take CPU from the workers (eight
    threads polling every 2 ms cost more CPU than the exports they waited for)."""

    def __init__(self, redis: Redis) -> None:
        self._lock = threading.Lock()
        self._ended: dict[str, threading.Event] = {}
        self._at: dict[str, float] = {}
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(**{EVENTS_PREFIX + "*": self._on_event})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _on_event(self, message: dict[str, Any]) -> None:
        event = json.loads(message["data"])
        if event["status"] in TERMINAL:
            with self._lock:
                self._at.setdefault(event["jobId"], time.perf_counter())
            self._event(event["jobId"]).set()

    def _event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._ended.setdefault(job_id, threading.Event())

    def wait(self, job_id: str, timeout_s: float = 120) -> float:
        """The `time.perf_counter()` at which the job ended."""
        if not self._event(job_id).wait(timeout_s):
            raise RuntimeError(f"job {job_id} did not finish in {timeout_s} s")
        return self._at[job_id]

    def close(self) -> None:
        self._thread.stop()


class Stack:
    """Redis, the stub Payload, this checkout's web process, and workers on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fake = FakePayload(seeded_stub()).start()
        self.redis_server = RedisServer(root)
        self.redis_server.start()
        self.redis = Redis.from_url(self.redis_server.url)
        self.endings = Endings(self.redis)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "PAYLOAD_URL": self.fake.url,
            "PAYLOAD_API_KEY": SERVICE_KEY,
            "REDIS_URL": self.redis_server.url,
            "EXPORT_TEMP_DIR": str(root),
            "EXPORT_MAX_ACTIVE_PER_CALLER": "1000",
            # One queue for every kind: a baseline from before the fast/bulk split listens
            # to EXPORT_QUEUE only.
            "EXPORT_QUEUE_FAST": "exports",
            "EXPORT_QUEUE_BULK": "exports",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "PORT": str(port),
        }
        uvicorn = ["-m", "uvicorn", "app.main:app", "--port", str(port), "--log-level", "warning"]
        self.web = self.spawn("web", ROOT, [sys.executable, *uvicorn])
        self.wait_healthy()

    def spawn(self, name: str, code: Path, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        env = {**self.env, "PYTHONPATH": str(code)}
        return subprocess.Popen(
            argv, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the web process did not become healthy")

    def workers(self, code: Path, count: int) -> list[subprocess.Popen[bytes]]:
        from rq import Worker

        before = len(Worker.all(connection=self.redis))
        argv = [sys.executable, "-m", "app.cli", "worker"]
        started = [self.spawn(f"worker-{code.name}-{n}", code, argv) for n in range(count)]
        deadline = time.monotonic() + 120
        while len(Worker.all(connection=self.redis)) < before + count:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "workers did not start; see the worker logs in " + str(self.root)
                )
            time.sleep(0.1)
        time.sleep(0.5)  # registered; let a warm-up finish before the first job
        return started

    @staticmethod
    def stop(processes: list[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)

    def close(self) -> None:
        self.endings.close()
        self.stop([self.web])
        self.redis_server.stop()
        self.fake.close()

    # -- one export ----------------------------------------------------------------------

    def export(self, kind: str, **options: Any) -> JobState:
        """POST an export and wait for it to end; `created_at` → measured wall time."""
        spec = KINDS[kind]
        body: dict[str, Any] = {"projectId": 17, **spec["body"]}
        if options:
            body["options"] = options
        started = time.perf_counter()
        response = requests.post(f"{self.url}/exports/{spec['path']}", json=body, headers=AUTH)
        response.raise_for_status()
        job_id = response.json()["jobId"]
        ended = self.endings.wait(job_id)
        state = JobStore(self.redis, ttl_s=3600).get(job_id)
        if state is None or state.status.value != "succeeded":
            raise RuntimeError(f"job {job_id} did not succeed: {state and state.error}")
        state.timings["total"] = (ended - started) * 1000
        return state

    def media_count(self) -> int:
        with self.fake.lock:
            return len([m for m in self.fake.stub.docs("media") if m.get("exportType")])


def baseline_checkout(ref: str, root: Path) -> Path:
    folder = root / "baseline"
    folder.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def sequential(stack: Stack, runs: int, make: Callable[[], JobState]) -> list[JobState]:
    make()  # the first job of a fresh worker is not what people wait for
    return [make() for _ in range(runs)]


def burst(stack: Stack, count: int, **options: Any) -> float:
    """Jobs per second for `count` PDF exports submitted at once."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: stack.export("pdf", **options), range(count)))
    return count / (time.perf_counter() - started)


def floor_render_ms(runs: int) -> float:
    """A warm in-process render of the seeded brief: the render stage's floor."""
    import shutil
    from datetime import UTC, datetime

    from jobs.pdf.brief import BriefData, BriefOptions, render_brief
    from tests.records import project_record, script_records

    stub = seeded_stub()
    project = project_record(stub._populate("projects", stub.collections["projects"][17], 1))
    docs = sorted(stub.docs("scripts"), key=lambda s: s["order"])
    scripts = script_records(docs, project)
    with tempfile.TemporaryDirectory() as tmp:
        images = {}
        for item in project.own_media():
            assert item.filename is not None
            path = Path(tmp) / item.filename
            path.write_bytes(stub.files[item.filename])
            images[str(item.id)] = path
        data = BriefData(project, scripts, project.own_media(), images,
                         datetime.now(UTC), "bench")  # fmt: skip
        times = []
        for _ in range(runs + 1):
            out = Path(tmp) / "out"
            out.mkdir()
            started = time.perf_counter()
            render_brief(data, out / "brief.pdf", options=BriefOptions())
            times.append((time.perf_counter() - started) * 1000)
            shutil.rmtree(out)
    return statistics.median(times[1:])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(name: str, states: list[JobState], base: float | None = None) -> float:
    totals = [s.timings["total"] for s in states]
    p50 = p(totals, 0.5)
    ratio = f"  {p50 / base:5.2f}× baseline" if base else ""
    print(f"  {name:<28} p50 {p50:7.1f} ms   p90 {p(totals, 0.9):7.1f} ms{ratio}")
    return p50


def stage_row(name: str, states: list[JobState]) -> None:
    stages = sorted({k for s in states for k in s.timings if k != "total"})
    figures = ", ".join(
        f"{k} {p([s.timings.get(k, 0.0) for s in states], 0.5):.0f}" for k in stages
    )
    print(f"  {name:<28} stage p50 (ms): {figures}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        help="git ref of the baseline worker (default: the last commit before warm workers)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-latency-") as tmp:
        root = Path(tmp)
        stack = Stack(root)
        try:
            report(stack, baseline_checkout(args.baseline, root), args)
        finally:
            stack.close()
    return 0


def report(stack: Stack, baseline: Path, args: argparse.Namespace) -> None:
    runs = args.runs
    print(f"bench/latency.py: {runs} sequential exports per row, stub Payload over HTTP, "
          f"{SECTIONS}-section brief; baseline = {args.baseline}")  # fmt: skip
    workers = stack.workers(baseline, 1)
    base = {kind: sequential(stack, runs, lambda k=kind: stack.export(k)) for kind in KINDS}
    base_rate = burst(stack, args.burst)
    stack.stop(workers)
    workers = stack.workers(ROOT, 1)
    ours = {
        kind: sequential(stack, runs, lambda k=kind: stack.export(k, fresh=True)) for kind in KINDS
    }
    media_before = stack.media_count()
    again = {kind: sequential(stack, runs, lambda k=kind: stack.export(k)) for kind in KINDS}
    new_media = stack.media_count() - media_before
    rate_1 = burst(stack, args.burst, fresh=True)
    workers += stack.workers(ROOT, 1)
    rate_2 = burst(stack, args.burst, fresh=True)
    stack.stop(workers)
    floor = floor_render_ms(runs)
    print("POST → succeeded")
    for kind in KINDS:
        base_p50 = row(f"{kind} baseline (cold)", base[kind])
        row(f"{kind} ours (fresh render)", ours[kind], base_p50)
        row(f"{kind} ours (re-export, reused)", again[kind], base_p50)
        stage_row(f"{kind} ours (fresh render)", ours[kind])
        stage_row(f"{kind} ours (reused)", again[kind])
    render = p([s.timings["render"] for s in ours["pdf"]], 0.5)
    print(f"  pdf render stage p50 {render:.0f} ms vs warm in-process render {floor:.0f} ms: "
          f"{render / floor:.2f}×")  # fmt: skip
    print(f"  re-exports reused: {sum(s.reused for v in again.values() for s in v)} of "
          f"{sum(len(v) for v in again.values())}; new Media during them: {new_media}")  # fmt: skip
    print(f"burst of {args.burst} PDFs: baseline 1 worker {base_rate:.2f} jobs/s; ours 1 worker "
          f"{rate_1:.2f} jobs/s ({rate_1 / base_rate:.2f}×), 2 workers {rate_2:.2f} jobs/s "
          f"({rate_2 / rate_1:.2f}× of 1)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
