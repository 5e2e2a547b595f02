"""Exports wait in a queue by expected cost; workers take fast ones first, and a worker can
be told to stop when the queues are empty or after N exports (KEDA ScaledJob pods)."""

from __future__ import annotations

import pytest
from rq import Queue

from jobs import queue
from jobs.state import ExportType, JobState
from jobs.worker import ExportWorker, WorkLimits, work_until_stopped


@pytest.mark.parametrize(
    ("export_type", "params", "bulk"),
    [
        (ExportType.PROJECT_PDF, {}, False),
        (ExportType.PROJECT_ZIP, {}, False),
        (ExportType.PROJECT_ZIP, {"includeMedia": True}, True),
        (ExportType.VIDEO, {"preset": "720p-h264"}, True),
    ],
)
def test_an_export_goes_to_the_queue_its_cost_calls_for(settings, export_type, params, bulk):
    expected = settings.bulk_queue if bulk else settings.fast_queue
    assert queue.queue_name_for(settings, export_type, params) == expected


def test_workers_listen_to_every_queue_fast_first_unless_told(settings):
    assert queue.worker_queue_names(settings) == ["exports-fast", "exports-bulk", "exports"]
    assert queue.worker_queue_names(settings, "bulk") == ["exports-bulk"]
    assert queue.worker_queue_names(settings, "bulk,fast") == ["exports-bulk", "exports-fast"]
    with pytest.raises(ValueError, match="slow is not an export queue"):
        queue.worker_queue_names(settings, "slow")


def submit(redis, settings, job_id, export_type, **params):
    state = JobState(job_id=job_id, type=export_type, project_id=17, params=params)
    return queue.submit(redis, settings, state)


def order_taken(redis, settings, limits: WorkLimits) -> list[str]:
    taken: list[str] = []

    class Recording(ExportWorker):
        def execute_job(self, job, queue):  # type: ignore[no-untyped-def]
            taken.append(job.id)
            self.successful_job_count += 1

    queues = [Queue(n, connection=redis) for n in queue.worker_queue_names(settings)]
    work_until_stopped(lambda: Recording(queues, connection=redis), limits)
    return taken


def test_a_burst_worker_takes_the_fast_queue_first_then_exits(settings, redis):
    submit(redis, settings, "bulk-1", ExportType.VIDEO)
    submit(redis, settings, "fast-1", ExportType.PROJECT_PDF)
    submit(redis, settings, "bulk-2", ExportType.PROJECT_ZIP, includeMedia=True)
    submit(redis, settings, "fast-2", ExportType.PROJECT_ZIP)
    taken = order_taken(redis, settings, WorkLimits(burst=True))
    assert taken == ["fast-1", "fast-2", "bulk-1", "bulk-2"]


def test_max_jobs_stops_the_worker_after_that_many(settings, redis):
    for n in range(3):
        submit(redis, settings, f"pdf-{n}", ExportType.PROJECT_PDF)
    assert order_taken(redis, settings, WorkLimits(burst=True, max_jobs=1)) == ["pdf-0"]
    assert Queue(settings.fast_queue, connection=redis).count == 2
