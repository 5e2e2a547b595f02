"""`--max-jobs` counts across the fresh loops a worker starts after a Redis error."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError

from jobs import worker as worker_module
from jobs.worker import WorkLimits, work_until_stopped


class FakeWorker:
    """Runs `runs` jobs per loop; the first loop then loses Redis."""

    loops = 0

    def __init__(self, runs: int) -> None:
        self.runs = runs
        self.stopping = False
        self.successful_job_count = 0
        self.failed_job_count = 0
        self.asked: int | None = None

    def work(self, burst: bool, max_jobs: int | None) -> bool:
        FakeWorker.loops += 1
        self.asked = max_jobs
        self.successful_job_count = min(self.runs, max_jobs or self.runs)
        if FakeWorker.loops == 1:
            raise RedisConnectionError("Connection refused")
        return True


def test_max_jobs_is_a_total_not_a_per_loop_count(monkeypatch):
    monkeypatch.setattr(worker_module, "_sleep_unless_signalled", lambda seconds: False)
    FakeWorker.loops = 0
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        made.append(FakeWorker(runs=2))
        return made[-1]

    work_until_stopped(make, WorkLimits(max_jobs=3))  # type: ignore[arg-type]
    assert [w.asked for w in made] == [3, 1]  # 2 done before the error, 1 left


def test_burst_ends_after_a_clean_loop_but_not_after_a_redis_error(monkeypatch):
    monkeypatch.setattr(worker_module, "_sleep_unless_signalled", lambda seconds: False)
    FakeWorker.loops = 0
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        made.append(FakeWorker(runs=0))
        return made[-1]

    work_until_stopped(make, WorkLimits(burst=True))  # type: ignore[arg-type]
    assert len(made) == 2  # the error restarted the loop; the clean empty one ended it
