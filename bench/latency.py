"""What people wait for: POST → `succeeded`, per kind and per stage, beside a baseline.

    .venv/bin/python bench/latency.py [--payload dev|stub] [--runs 15] [--burst 20]
                                      [--baseline 67c9ebf|none]

One run, one stack: a fresh embedded Redis and a Payload (`bench.payloads`: by default the
real dev Payload, started as `./scripts/run` starts it on a fresh SQLite database in this
run's temp folder; `--payload stub` for the quick stub over HTTP), the web process of this
checkout, and workers started per phase. The seeded sample project gets published scripts
up to a 10-section brief; the seeded editor exports it over REST.

* baseline -- `export-service worker` of the `--baseline` git ref (exported to a temp
              folder): cold work horses, one PATCH per stage change, no reuse;
* ours     -- this checkout's worker: PDF, ZIP (with media) and video (VIDEO_PRESET, the
              local ffmpeg engine `./scripts/run` uses) with `options.fresh`, so every
              export renders; then the same exports without it (a re-export of an
              unchanged project: reused, no new Media, counted in Payload);
* burst    -- BURST PDF exports at once, 1 worker then 2 (jobs/s);
* floor    -- a warm in-process render of the same brief, read from the same Payload the
              way the job reads it (`bench.floor_render`): what the render stage can reach.
              Half its renders just before the fresh PDF row and half just after, so
              that both are measured in the same minutes.

Sequential exports are THINK_TIME_S apart, as an editor's clicks are: posted back to back,
each would also wait for the previous job's teardown (RQ's bookkeeping, the work horse's
exit). The bursts are back to back on purpose. The first export of each row is a warm-up
and is not counted.

Printed: the mode, Payload's version and the commit; p50/p90 POST → succeeded per row and
per stage (the jobs' own timings; `other` is what no stage covers: the POST, hearing the end);
each issue #18 target with the figure measured and met/MISSED. Each burst's CPU per export
by process tells why 2 workers fall short of a speedup: jobs/s is cores busy over CPU per
export, so the 2-worker line is followed by the cores busy the target would need (one
worker already keeps more than one core busy: the web process, Payload and Redis work
beside it). The machine is shared: compare ratios from one run. Exits 1 on a correctness
failure only (an export that fails, a re-export not `reused`, new Media during
re-exports); a missed figure is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import requests
from redis import Redis
from redis.client import PubSub

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import embedded  # noqa: E402
from bench import payload_calls as calls  # noqa: E402
from bench.cpu_budget import CpuBudget, machine_scaling  # noqa: E402
from bench.fault_injection import free_port, wait_healthy  # noqa: E402
from bench.floor_render import Floor  # noqa: E402
from bench.latency_report import (  # noqa: E402
    Targets,
    commit,
    print_floor_and_bursts,
    print_payload_calls,
    print_rows,
    print_stages,
    print_targets,
)
from bench.payloads import SECTIONS, BenchPayload, start_dev_payload, start_stub  # noqa: E402
from jobs.state import EVENTS_PREFIX, TERMINAL_STATUSES, JobState, JobStore  # noqa: E402

TERMINAL = {status.value for status in TERMINAL_STATUSES}
#: Seconds between sequential exports: an editor's next click, not a script's.
THINK_TIME_S = 0.3
#: The smallest video preset: the timeline (3 stills, a title card) still goes through ffmpeg.
VIDEO_PRESET = "360p-h264"
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "pdf": ("project-pdf", {}),
    "zip": ("project-zip", {"includeMedia": True}),
    "video": ("video", {"preset": VIDEO_PRESET}),
}
#: The service as it was before warm workers, result reuse and coalesced write-backs.
BASELINE_REF = "67c9ebf"
WEBHOOK_SECRET = "latency-bench-webhook-secret"
EXPORT_TIMEOUT_S = 300
WORKER_START_TIMEOUT_S = 120

# Issue #18's "done when".
PDF_P50_TARGET_MS = 400
RENDER_OVER_FLOOR_TARGET = 1.3
REEXPORT_P50_TARGET_MS = 100
TWO_WORKERS_TARGET = 1.8


class ExportFailed(RuntimeError):
    """An export that did not succeed: a correctness failure, not a slow figure."""


# -- the stack -----------------------------------------------------------------------------


class Endings:
    """When each job reached a final state, heard on the states workers publish
    (`export:events:<jobId>`): no polling, which would take CPU from the workers (eight
    threads polling every 2 ms cost more CPU than the exports they waited for)."""

    def __init__(self, redis: Redis) -> None:
        self._lock = threading.Lock()
        self._ended: dict[str, threading.Event] = {}
        self._at: dict[str, float] = {}
        # redis-py leaves Redis.pubsub unannotated; it returns a PubSub.
        self._pubsub: PubSub = redis.pubsub(  # type: ignore[no-untyped-call]
            ignore_subscribe_messages=True
        )
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
            raise ExportFailed(f"job {job_id} did not finish in {timeout_s} s")
        return self._at[job_id]

    def close(self) -> None:
        self._thread.stop()


class Stack:
    """Redis, a Payload, this checkout's web process, and workers on demand."""

    def __init__(self, root: Path, payload: BenchPayload, redis_url: str, port: int) -> None:
        self.root = root
        self.payload = payload
        self.redis = Redis.from_url(redis_url)
        self.port = port
        self.endings = Endings(self.redis)
        self.url = f"http://127.0.0.1:{port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.metrics = root / "metrics"
        self.metrics.mkdir()
        self.env = {
            **os.environ,
            "PAYLOAD_URL": payload.url,
            "PAYLOAD_API_KEY": payload.service_key,
            "REDIS_URL": redis_url,
            "EXPORT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EXPORT_TEMP_DIR": str(root),
            "EXPORT_DATA_DIR": str(root / "data"),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics),  # as `./scripts/run` sets it
            "EXPORT_MAX_ACTIVE_PER_CALLER": "1000",
            # One queue for every kind: a baseline from before the fast/bulk split listens
            # to EXPORT_QUEUE only.
            "EXPORT_QUEUE_FAST": "exports",
            "EXPORT_QUEUE_BULK": "exports",
            "LOG_FORMAT": "text",
        }

    def start_web(self) -> None:
        """This checkout's web process, as `./scripts/run` starts it; waits until healthy."""
        web = ["web", "--host", "127.0.0.1", "--port", str(self.port)]
        self.web = self.spawn("web", ROOT, [sys.executable, "-m", "app.cli", *web])
        wait_healthy(self.url, 60, logs=f"; see {self.root}/web.log")

    def cpu_groups(self, workers: list[subprocess.Popen[bytes]]) -> dict[str, list[int]]:
        """The processes an export spends CPU in, by role (`bench.cpu_budget`)."""
        groups = {
            "worker": [worker.pid for worker in workers],
            "web": [self.web.pid],
            "redis": [int(self.redis.info()["process_id"])],
        }
        if self.payload.pid is not None:
            groups["payload"] = [self.payload.pid]
        return groups

    def spawn(self, name: str, code: Path, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        env = {**self.env, "PYTHONPATH": str(code)}
        process = subprocess.Popen(
            argv, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def workers(self, code: Path, count: int) -> list[subprocess.Popen[bytes]]:
        from rq import Worker

        before = len(Worker.all(connection=self.redis))
        argv = [sys.executable, "-m", "app.cli", "worker"]
        started = [self.spawn(f"worker-{code.name}-{n}", code, argv) for n in range(count)]
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while len(Worker.all(connection=self.redis)) < before + count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start; see the worker logs in {self.root}")
            time.sleep(0.1)
        time.sleep(0.5)  # registered; let a warm-up finish before the first job
        return started

    @staticmethod
    def stop(processes: list[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        self.stop(self.processes)
        self.endings.close()

    # -- one export ----------------------------------------------------------------------

    def export(self, kind: str, **options: Any) -> JobState:
        """POST an export as the editor and wait for it to end; `timings["total"]` → wall ms."""
        path, extra = KINDS[kind]
        body: dict[str, Any] = {"projectId": self.payload.project_id, **extra}
        if options:
            body["options"] = options
        started = time.perf_counter()
        response = requests.post(
            f"{self.url}/exports/{path}",
            json=body,
            headers={"Authorization": self.payload.editor_auth},
            timeout=30,
        )
        if response.status_code != 202:
            raise ExportFailed(
                f"POST /exports/{path} answered {response.status_code}: {response.text}"
            )
        job_id = response.json()["jobId"]
        ended = self.endings.wait(job_id, EXPORT_TIMEOUT_S)
        state = JobStore(self.redis, ttl_s=3600).get(job_id)
        if state is None or state.status.value != "succeeded":
            status = state.status.value if state else "expired"
            raise ExportFailed(f"{kind} job {job_id} {status}: {state and state.error}")
        state.timings["total"] = (ended - started) * 1000
        return state


@contextmanager
def running_stack(root: Path, mode: str) -> Iterator[Stack]:
    """Redis, Payload and the web process; everything started is stopped on the way out."""
    with ExitStack() as started:
        redis_server = embedded.start_redis(root / "redis")
        started.callback(redis_server.shutdown)
        port = free_port()
        if mode == "dev":
            service_url = f"http://127.0.0.1:{port}"
            payload = start_dev_payload(
                root, service_url=service_url, webhook_secret=WEBHOOK_SECRET
            )
        else:
            payload = start_stub()
        started.callback(payload.close)
        stack = Stack(root, payload, embedded.redis_url_of(redis_server), port)
        started.callback(stack.stop_all)
        stack.start_web()
        yield stack


# -- the phases ----------------------------------------------------------------------------


@dataclass
class Measured:
    """Everything one run measured; rows are lists of finished job states per kind."""

    baseline: dict[str, list[JobState]] = field(default_factory=dict)
    baseline_rate: float | None = None
    fresh: dict[str, list[JobState]] = field(default_factory=dict)
    again: dict[str, list[JobState]] = field(default_factory=dict)
    #: The uncounted first re-export of each kind: it must be reused too.
    again_warmup: dict[str, JobState] = field(default_factory=dict)
    #: Export results added to Payload's Media during each kind's re-exports.
    new_media: dict[str, int] = field(default_factory=dict)
    #: Payload calls per export of each of our rows (`bench.payload_calls.per_export`).
    calls: dict[str, str] = field(default_factory=dict)
    rate_1: float = 0.0
    rate_2: float = 0.0
    #: CPU per export by process in the 1-worker burst: what bounds 2 workers' jobs/s.
    cpu_1: CpuBudget | None = None
    cpu_2: CpuBudget | None = None
    #: 2 CPU-bound processes' throughput over one's, measured beside the bursts.
    machine_scaling: float = 0.0
    floor_ms: float = 0.0


def sequential(runs: int, make: Callable[[], JobState]) -> tuple[JobState, list[JobState]]:
    """A warm-up export, then `runs` counted ones, THINK_TIME_S apart."""
    warmup = make()  # the first job of a fresh worker is not what people wait for
    done = []
    for _ in range(runs):
        time.sleep(THINK_TIME_S)
        done.append(make())
    return warmup, done


def burst(stack: Stack, count: int, **options: Any) -> float:
    """Jobs per second for `count` PDF exports submitted at once."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: stack.export("pdf", **options), range(count)))
    return count / (time.perf_counter() - started)


def measure_baseline(stack: Stack, code: Path, args: argparse.Namespace, into: Measured) -> None:
    workers = stack.workers(code, 1)
    for kind in KINDS:
        _, into.baseline[kind] = sequential(args.runs, partial(stack.export, kind))
    into.baseline_rate = burst(stack, args.burst)
    stack.stop(workers)


def measure_ours(stack: Stack, args: argparse.Namespace, into: Measured) -> None:
    payload = stack.payload
    floor = Floor(payload.url, payload.service_auth, payload.project_id, stack.root / "floor")
    workers = stack.workers(ROOT, 1)
    for kind in KINDS:
        if kind == "pdf":
            floor.render(args.runs // 2)
        with payload_calls(stack, into, f"{kind} fresh", args.runs + 1):
            _, into.fresh[kind] = sequential(args.runs, partial(stack.export, kind, fresh=True))
        if kind == "pdf":
            floor.render(args.runs - args.runs // 2)
            into.floor_ms = floor.ms
    for kind in KINDS:
        media_before = stack.payload.export_media_count()
        with payload_calls(stack, into, f"{kind} reused", args.runs + 1):
            into.again_warmup[kind], into.again[kind] = sequential(
                args.runs, partial(stack.export, kind)
            )
        into.new_media[kind] = stack.payload.export_media_count() - media_before
    with CpuBudget.over(stack.cpu_groups(workers), args.burst) as into.cpu_1:
        into.rate_1 = burst(stack, args.burst, fresh=True)
    into.machine_scaling = machine_scaling()
    workers += stack.workers(ROOT, 1)
    with CpuBudget.over(stack.cpu_groups(workers), args.burst) as into.cpu_2:
        into.rate_2 = burst(stack, args.burst, fresh=True)
    stack.stop(workers)


@contextmanager
def payload_calls(stack: Stack, into: Measured, row: str, exports: int) -> Iterator[None]:
    """Payload calls per export made by the web process and workers in the block."""
    before = calls.snapshot(stack.metrics)
    yield
    into.calls[row] = calls.per_export(calls.since(before, stack.metrics), exports)


def measure(stack: Stack, args: argparse.Namespace) -> Measured:
    measured = Measured()
    if args.baseline != "none":
        measure_baseline(stack, baseline_checkout(args.baseline, stack.root), args, measured)
    measure_ours(stack, args, measured)
    return measured


def baseline_checkout(ref: str, root: Path) -> Path:
    folder = root / "baseline"
    folder.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


# -- the command ---------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--payload",
        choices=("dev", "stub"),
        default="dev",
        help="the dev Payload (Node; default) or the stub over HTTP",
    )
    parser.add_argument("--runs", type=int, default=15, help="counted exports per row")
    parser.add_argument("--burst", type=int, default=20, help="PDF exports per burst")
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        help="git ref of the baseline worker, or `none` "
        "(default: the last commit before warm workers)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    root = Path(tempfile.mkdtemp(prefix="export-latency-"))
    started = time.monotonic()
    try:
        with running_stack(root, args.payload) as stack:
            print_header(stack.payload, args)
            ok = print_report(measure(stack, args), args)
    except ExportFailed as exc:
        print(f"FAILED: {exc}\nlogs kept in {root}")
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; everything started was stopped; logs kept in {root}")
        return 130
    except BaseException:
        print(f"logs kept in {root}", file=sys.stderr)
        raise
    shutil.rmtree(root, ignore_errors=True)
    print(f"finished in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


def print_header(payload: BenchPayload, args: argparse.Namespace) -> None:
    baseline = "none" if args.baseline == "none" else f"worker of {args.baseline}"
    print(
        f"bench/latency.py, mode {payload.mode}: {payload.version}; commit {commit(ROOT)}; "
        f"baseline {baseline}"
    )
    print(
        f"{args.runs} sequential exports per row, {THINK_TIME_S} s apart (think time), after "
        f"a warm-up; {SECTIONS}-section brief; video {VIDEO_PRESET}",
        flush=True,
    )


def print_report(measured: Measured, args: argparse.Namespace) -> bool:
    print_rows(measured, args.baseline)
    print_stages(measured)
    print_payload_calls(measured)
    print_floor_and_bursts(measured, args.burst)
    targets = Targets(
        pdf_p50_ms=PDF_P50_TARGET_MS,
        render_over_floor=RENDER_OVER_FLOOR_TARGET,
        reexport_p50_ms=REEXPORT_P50_TARGET_MS,
        two_workers=TWO_WORKERS_TARGET,
    )
    return print_targets(measured, targets)


if __name__ == "__main__":
    sys.exit(main())
