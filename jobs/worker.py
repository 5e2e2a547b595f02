"""The worker process: RQ's forking `Worker`, with a grace period on SIGTERM.

On SIGTERM (a deploy, a scale-down) RQ stops taking jobs and waits for the one in hand
(warm shutdown). The work horse ignores SIGTERM itself, so a signal sent to the whole
process group cannot kill a job mid-upload. If the job has not finished after
EXPORT_SHUTDOWN_GRACE_S, it is asked to stop at its next checkpoint and fails with a
sentence saying so, rather than being killed with nothing said.

In multiprocess metrics mode, each reaped work horse's metric files are folded into the
worker's archive (`jobs.metrics_archive`), so the folder holds a few files per process
rather than two per export.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq import Worker

from jobs.errors import WorkerStopping
from jobs.metrics_archive import MetricsArchive
from jobs.progress import ask_to_stop

logger = logging.getLogger(__name__)


RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)


class ExportWorker(Worker):
    shutdown_grace_s: float = 25.0
    stopping: bool = False
    #: Where reaped horses' metric files are folded (None: not in multiprocess mode).
    metrics_archive: MetricsArchive | None = None

    def monitor_work_horse(self, job: Any, queue: Any, execution: Any) -> None:
        horse_pid = self.horse_pid
        try:
            super().monitor_work_horse(job, queue, execution)  # returns once it is reaped
        finally:
            self._fold_horse_metrics(horse_pid, job.id)

    def _fold_horse_metrics(self, horse_pid: int, job_id: str) -> None:
        if self.metrics_archive is None or not horse_pid:
            return
        try:
            self.metrics_archive.fold_process(horse_pid)
        except Exception:  # metrics must never stop the worker; the files stay, unfolded
            logger.exception("job %s: folding work horse %d's metrics failed", job_id, horse_pid)

    def setup_work_horse_signals(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def request_stop(self, signum: int, frame: FrameType | None) -> Any:
        self.stopping = True
        job_id = self.get_current_job_id()
        if job_id:
            timer = threading.Timer(self.shutdown_grace_s, self._grace_expired, args=(job_id,))
            timer.daemon = True
            timer.start()
        return super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def _grace_expired(self, job_id: str) -> None:
        if self.get_current_job_id() != job_id:
            return
        sentence = (
            f"the worker was shut down and the export did not finish within the "
            f"{self.shutdown_grace_s:g} s grace period (EXPORT_SHUTDOWN_GRACE_S); "
            "nothing was uploaded"
        )
        logger.warning("job %s: %s", job_id, sentence)
        ask_to_stop(self.connection, job_id, sentence, kind=WorkerStopping, ttl_s=3600)


@dataclass
class WorkLimits:
    """When a worker process exits by itself: `burst` once the queues are empty, or after
    `max_jobs` exports (a KEDA ScaledJob pod runs `--burst --max-jobs 1`)."""

    burst: bool = False
    max_jobs: int | None = None
    done: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.max_jobs is None else max(0, self.max_jobs - self.done)

    def finished(self, worker: Worker, *, clean: bool) -> bool:
        self.done += worker.successful_job_count + worker.failed_job_count
        if self.max_jobs is not None and self.done >= self.max_jobs:
            return True
        return clean and self.burst


def work_until_stopped(
    make_worker: Callable[[], ExportWorker], limits: WorkLimits | None = None
) -> None:
    """Run worker loops until a signal asks to stop (or `limits` are reached).

    RQ's loop retries while it waits for a job, but quits on a Redis error anywhere else
    (its own bookkeeping around a job, say, while Redis restarts). Start a fresh loop then,
    backing off, so the process recovers by itself when Redis returns.
    """
    limits = limits or WorkLimits()
    failures = 0
    while True:
        worker, clean = None, False
        try:
            worker = make_worker()
            worker.work(burst=limits.burst, max_jobs=limits.remaining)
            clean = True
        except RedisError as exc:  # e.g. from RQ's teardown while Redis is down
            logger.warning("worker loop: Redis error: %s", exc)
        if worker is not None and (worker.stopping or limits.finished(worker, clean=clean)):
            return
        delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
        failures += 1
        logger.warning(
            "the worker loop ended without being asked to (is Redis reachable?); "
            "starting a new one in %g s",
            delay,
        )
        if _sleep_unless_signalled(delay):
            return


def _sleep_unless_signalled(seconds: float) -> bool:
    """Sleep; True if SIGTERM/SIGINT arrived meanwhile."""
    signalled = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda signum, frame: signalled.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        deadline = time.monotonic() + seconds
        while not signalled.is_set() and time.monotonic() < deadline:
            signalled.wait(0.1)
        return signalled.is_set()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
