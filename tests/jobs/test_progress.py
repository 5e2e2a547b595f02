"""Progress reaches Redis on every change and Payload at most once a second, stage changes
included (coalesced), and the final state always, so the admin moves without flooding
Payload."""

from __future__ import annotations

from dataclasses import replace

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


def test_payload_sees_at_most_one_update_a_second(progress, payload, redis):
    tracker, clock = progress
    tracker.start()
    for percent in range(10, 20):
        tracker.report("rendering", percent)
        clock.now += 0.25
    assert writes(payload) == [("starting", 0), ("rendering", 14), ("rendering", 18)]
    assert tracker.runtime.store.get("p-1").progress == 19  # Redis saw every one


def test_stage_changes_within_the_window_become_one_write_and_the_final_state_is_written(
    progress, payload
):
    tracker, clock = progress
    tracker.start()
    for stage in ("fetching project", "fetching images", "rendering", "upload"):
        tracker.report(stage, 50)
        clock.now += 0.1
    tracker.succeed({"id": 9, "url": "/api/media/file/brief.pdf"})
    assert writes(payload) == [("starting", 0), ("done", 100)]


def test_a_late_stage_change_is_written_once_the_window_has_passed(progress, payload):
    tracker, clock = progress
    tracker.start()
    tracker.report("fetching project", 5)
    clock.now += 1.5
    tracker.report("rendering", 60)
    tracker.fail("the PDF brief could not be rendered: no")
    assert writes(payload) == [("starting", 0), ("rendering", 60), ("rendering", 60)]
    assert payload.docs("export-requests")[-1]["status"] == "failed"


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
