"""Fleet-wide figures, kept in Redis so one scrape of any web process tells the whole story.

Process-local Prometheus counters die with RQ's work horses and live on whichever host ran
the export; these do not. Workers count each export's outcome here (`count_finished`), the
submission path counts what it queues (`count_submitted`), and the web's `/metrics` and
`/metrics/queues` read them back together with each queue as RQ keeps it:

    export:fleet:submitted   hash  <type>            → exports queued
    export:fleet:finished    hash  <type>|<outcome>  → exports that ended

`demand` (waiting + running) is what an autoscaler should follow: scaling on waiting jobs
alone removes workers while they are still busy (docs/deploy.md, Autoscaling).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry

from jobs.state import ExportType

logger = logging.getLogger(__name__)

SUBMITTED_KEY = "export:fleet:submitted"
FINISHED_KEY = "export:fleet:finished"
OUTCOMES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class QueueFigures:
    """One queue, now: jobs waiting and running, failures kept, workers listening."""

    name: str
    waiting: int
    running: int
    failed: int
    oldest_age_s: float
    workers: int

    @property
    def demand(self) -> int:
        """Workers this queue needs now: one per waiting or running export."""
        return self.waiting + self.running


def queue_figures(redis: Redis, name: str) -> QueueFigures:
    queue = Queue(name, connection=redis)
    return QueueFigures(
        name=name,
        waiting=queue.count,
        running=StartedJobRegistry(queue=queue).count,
        failed=FailedJobRegistry(queue=queue).count,
        oldest_age_s=_oldest_age_s(queue),
        workers=Worker.count(queue=queue),
    )


def _oldest_age_s(queue: Queue) -> float:
    # RQ appends to the right, so the head of the list has waited longest.
    for job_id in queue.get_job_ids(0, 1):
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at
            if enqueued.tzinfo is None:
                enqueued = enqueued.replace(tzinfo=UTC)
            return max(0.0, (datetime.now(UTC) - enqueued).total_seconds())
    return 0.0


def workers_alive(redis: Redis) -> int:
    """Every live worker once, whichever queues it listens to."""
    return Worker.count(connection=redis)


def count_submitted(redis: Redis, export_type: ExportType) -> None:
    redis.hincrby(SUBMITTED_KEY, export_type.value, 1)


def count_finished(redis: Redis, export_type: ExportType, outcome: str) -> None:
    """Count an export's outcome; a Redis error is logged, never raised (the job's own
    state is what matters, and it has been recorded already)."""
    try:
        redis.hincrby(FINISHED_KEY, f"{export_type.value}|{outcome}", 1)
    except RedisError as exc:
        logger.warning("could not count a %s %s export: %s", outcome, export_type.value, exc)


def submitted_counts(redis: Redis) -> dict[str, int]:
    return {_text(k): int(v) for k, v in redis.hgetall(SUBMITTED_KEY).items()}


def finished_counts(redis: Redis) -> dict[tuple[str, str], int]:
    counts = {}
    for key, count in redis.hgetall(FINISHED_KEY).items():
        export_type, _, outcome = _text(key).partition("|")
        counts[(export_type, outcome)] = int(count)
    return counts


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
