"""Knowing a running job still has a worker behind it, and cleaning up when it has not.

While a job runs, its worker refreshes `export:heartbeat:<jobId>` (TTL
EXPORT_HEARTBEAT_TTL_S, every third of it) from a background thread, and the job id
sits in the `export:running` set. A worker killed mid-job (SIGKILL, OOM) stops the
heartbeat; `sweep` — run by every web process every EXPORT_SWEEP_INTERVAL_S — then fails
the job with a sentence, on Redis and on its Payload document, so no
export stays `running` for ever. Detection takes at most TTL + sweep interval (75 s by default).

`sweep` also retries final states that could not be written to Payload while it was
down (`progress.WRITEBACK_PENDING_KEY`), so no outcome is lost.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from types import TracebackType

from redis import Redis

from jobs import fleet
from jobs.progress import WRITEBACK_PENDING_KEY, Progress
from jobs.runtime import Runtime
from jobs.state import JobStatus

logger = logging.getLogger(__name__)

RUNNING_KEY = "export:running"
HEARTBEAT_PREFIX = "export:heartbeat:"
SWEEP_LOCK_KEY = "export:sweep-lock"


class Heartbeat:
    """Keeps a job marked alive while the `with` block runs."""

    def __init__(self, redis: Redis, job_id: str, *, ttl_s: int) -> None:
        self.redis = redis
        self.job_id = job_id
        self.ttl_s = ttl_s
        self.interval_s = ttl_s / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        with self.redis.pipeline() as pipe:
            pipe.set(HEARTBEAT_PREFIX + self.job_id, "1", ex=self.ttl_s)
            pipe.sadd(RUNNING_KEY, self.job_id)
            pipe.execute()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self.redis.pipeline() as pipe:
            pipe.delete(HEARTBEAT_PREFIX + self.job_id)
            pipe.srem(RUNNING_KEY, self.job_id)
            pipe.execute()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.redis.set(HEARTBEAT_PREFIX + self.job_id, "1", ex=self.ttl_s)
            except Exception:  # a Redis blip must not kill the job; the next beat retries
                logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)


@dataclass
class SweepReport:
    abandoned: list[str] = field(default_factory=list)
    written_back: list[str] = field(default_factory=list)


def sweep(rt: Runtime) -> SweepReport:
    """Fail abandoned jobs and retry pending write-backs; safe to run from many processes."""
    report = SweepReport()
    lock_s = max(1, int(rt.settings.sweep_interval_s / 2))
    if not rt.redis.set(SWEEP_LOCK_KEY, "1", nx=True, ex=lock_s):
        return report
    for raw in rt.redis.smembers(RUNNING_KEY):
        job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        if not rt.redis.exists(HEARTBEAT_PREFIX + job_id) and _fail_abandoned(rt, job_id):
            report.abandoned.append(job_id)
    for raw in rt.redis.smembers(WRITEBACK_PENDING_KEY):
        job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        if _write_back(rt, job_id):
            report.written_back.append(job_id)
    return report


def _fail_abandoned(rt: Runtime, job_id: str) -> bool:
    rt.redis.srem(RUNNING_KEY, job_id)
    state = rt.store.get(job_id)
    if state is None or state.status is not JobStatus.RUNNING:
        return False
    stage = state.stage or "starting"
    Progress(rt, state).fail(
        f"the worker stopped unexpectedly during {stage}; nothing was uploaded"
    )
    logger.warning("job %s: abandoned by its worker during %s; marked failed", job_id, stage)
    fleet.count_finished(rt.redis, state.type, "failed")  # its worker never counted it
    return True


def _write_back(rt: Runtime, job_id: str) -> bool:
    state = rt.store.get(job_id)
    if state is None:
        rt.redis.srem(WRITEBACK_PENDING_KEY, job_id)
        return False
    progress = Progress(rt, state)
    progress.write_final()
    return not rt.redis.sismember(WRITEBACK_PENDING_KEY, job_id)
