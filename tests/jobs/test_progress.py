"""Progress reaches Redis on every change and Payload at most once a second, stage changes
included (coalesced), and the final state always, so the admin moves without flooding
Payload."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from jobs import runtime
from jobs.errors import ExportCancelled
from jobs.progress import Progress
from jobs.state import ExportType, JobState, JobStatus


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def progress(settings, redis, payload):
    rt = runtime.build(replace(settings, progress_writeback_interval_s=1.0), redis)
    doc = payload.add("export-requests", {"type": "project-pdf", "project": 17, "status": "queued"})
    state = JobState(
        job_id="p-1", type=ExportType.PROJECT_PDF, project_id=17, request_doc_id=doc["id"]
    )
    rt.store.create(state)
    clock = Clock()
    return Progress(rt, state, clock=clock), clock


def writes(payload) -> list[tuple[str, int]]:
    return [(u["stage"], u["progress"]) for _, u in payload.updates]


def test_payload_sees_at_most_one_update_a_second_the_start_included(progress, payload, redis):
    tracker, clock = progress
    tracker.start()
    for percent in range(10, 20):
        tracker.report("rendering", percent)
        clock.now += 0.25
    tracker.flush()
    assert writes(payload) == [("rendering", 14), ("rendering", 18)]
    assert tracker.runtime.store.get("p-1").progress == 19  # Redis saw every one


def test_a_job_that_ends_within_its_first_window_costs_payload_one_write(progress, payload):
    tracker, clock = progress
    tracker.start()
    for stage in ("fetching project", "fetching images", "rendering", "upload"):
        tracker.report(stage, 50)
        clock.now += 0.1
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    assert writes(payload) == [("done", 100)]
    assert payload.docs("export-requests")[-1]["jobId"] == "p-1"


def test_a_late_stage_change_is_written_once_the_window_has_passed(progress, payload):
    tracker, clock = progress
    tracker.start()
    tracker.report("fetching project", 5)
    clock.now += 1.5
    tracker.report("rendering", 60)
    tracker.fail("the PDF brief could not be rendered: no")
    assert writes(payload) == [("rendering", 60), ("rendering", 60)]
    assert payload.docs("export-requests")[-1]["status"] == "failed"


def test_the_job_does_not_wait_for_payload_to_take_its_progress(progress, payload, monkeypatch):
    """#18: progress PATCHes go out beside the job; the final one waits for them and is last."""
    tracker, clock = progress
    release = threading.Event()
    update = payload._update

    def slow_update(*args: Any) -> Any:
        release.wait(10)
        return update(*args)

    monkeypatch.setattr(payload, "_update", slow_update)
    tracker.start()
    clock.now += 1.5
    tracker.report("rendering", 60)  # returns while Payload still holds this PATCH
    assert tracker.runtime.store.get("p-1").stage == "rendering"
    assert writes(payload) == []
    release.set()
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    assert writes(payload) == [("rendering", 60), ("done", 100)]


def test_a_progress_write_that_breaks_does_not_stop_the_next(progress, payload, monkeypatch):
    tracker, clock = progress
    update = payload._update
    calls = []

    def first_breaks(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a bug in a write")
        return update(*args)

    monkeypatch.setattr(payload, "_update", first_breaks)
    tracker.start()
    clock.now += 1.5
    tracker.report("rendering", 60)
    tracker.flush()
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    assert writes(payload) == [("done", 100)]
    assert payload.docs("export-requests")[-1]["status"] == "succeeded"


def test_timings_reach_redis_and_payload(progress, payload):
    tracker, _ = progress
    tracker.start()
    with tracker.timings.stage("render"):
        pass
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    doc = payload.docs("export-requests")[-1]
    assert {"queued", "render"} <= set(doc["timings"])
    assert {"queued", "render", "write-back"} <= set(tracker.runtime.store.get("p-1").timings)


def test_progress_never_claims_100_before_success(progress):
    tracker, _ = progress
    tracker.start()
    tracker.report("upload", 100)
    assert tracker.state.progress == 99


def test_every_report_is_a_cancellation_checkpoint(progress, redis):
    tracker, _ = progress
    tracker.start()
    redis.set("export:cancel:p-1", "cancelled by editor@example.com")
    with pytest.raises(ExportCancelled, match=r"cancelled by editor@example\.com"):
        tracker.report("rendering", 50)


def test_success_is_written_with_the_result(progress, payload):
    tracker, _ = progress
    tracker.start()
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    doc = payload.docs("export-requests")[-1]
    assert (doc["status"], doc["progress"], doc["result"]) == ("succeeded", 100, 9)
    assert doc["resultUrl"] == "http://payload.test/api/media/file/brief.pdf"
    assert tracker.state.status is JobStatus.SUCCEEDED
