"""The services engine against stubbed video-processing and transcoding services.

Through the real queue and worker (submission, error sentences, progress, timeouts) and
on the engine itself (idempotent retries, backoff, cancelling, guarded downloads).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import responses
from requests import PreparedRequest
from starlette.datastructures import Secret

from app.settings import Settings, SettingsError, VideoServices, load_settings
from jobs import runtime
from jobs.errors import ExportCancelled
from jobs.state import JobStore
from jobs.video.engine import (
    RenderCancelled,
    RenderRequest,
    StageProgress,
    VideoServiceError,
    VideoServiceTimeout,
    engine_for,
)
from jobs.video.engine.local import LocalEngine
from jobs.video.engine.probe import probe_mp4
from jobs.video.engine.services import ServicesEngine
from jobs.video.timeline import plan_for
from tests.conftest import EDITOR, run_jobs
from tests.jobs.video.video_media import VideoFiles, media_doc, video_files
from tests.payload_stub import PayloadStub
from tests.records import project_record

RENDER = "http://render.test"
TRANSCODE = "http://transcode.test"
RENDERED_URL = f"{RENDER}/outputs/r-1.mov"
OUTPUT_URL = f"{TRANSCODE}/outputs/t-1.mp4"
TOKEN = "video-token-0123456789"

Reply = tuple[int, dict[str, str], str]


@dataclass
class FakeJobService:
    """One service on `responses`: jobs keyed by Idempotency-Key, states scripted per poll."""

    mock: responses.RequestsMock
    base: str
    path: str
    prefix: str
    states: list[dict[str, Any]]
    output: dict[str, Any]
    submit_replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    submissions: list[PreparedRequest] = field(default_factory=list)
    polls: int = 0
    deleted: list[str] = field(default_factory=list)

    def install(self) -> FakeJobService:
        url = self.base + self.path
        job = re.compile(re.escape(url) + r"/[^/]+$")
        self.mock.add_callback("POST", url, callback=self._submit)
        self.mock.add_callback("GET", job, callback=self._get)
        self.mock.add_callback("DELETE", job, callback=self._delete)
        return self

    def body(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self.submissions[index].body or b"{}")

    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.submissions]

    def _submit(self, request: PreparedRequest) -> Reply:
        self.submissions.append(request)
        if self.submit_replies:
            status, body = self.submit_replies.pop(0)
            return status, {}, json.dumps(body)
        key = request.headers.get("Idempotency-Key") or ""
        if key in self.jobs:  # the same key is the same job, never a second one
            return 200, {}, json.dumps({"id": self.jobs[key], "state": "running"})
        self.jobs[key] = f"{self.prefix}-{len(self.jobs) + 1}"
        return 202, {}, json.dumps({"id": self.jobs[key], "state": "queued", "progress": 0})

    def _get(self, request: PreparedRequest) -> Reply:
        self.polls += 1
        state = self.states[min(self.polls, len(self.states)) - 1]
        body = {"id": _job_id(request), **state}
        if state["state"] == "succeeded":
            body["output"] = self.output
        return 200, {}, json.dumps(body)

    def _delete(self, request: PreparedRequest) -> Reply:
        self.deleted.append(_job_id(request))
        return 202, {}, json.dumps({"id": _job_id(request), "state": "cancelled"})


def _job_id(request: PreparedRequest) -> str:
    return (request.url or "").rsplit("/", 1)[1]


RUNNING = [
    {"state": "running", "progress": 25},
    {"state": "running", "progress": 75},
    {"state": "succeeded", "progress": 100},
]


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> VideoFiles:
    return video_files(tmp_path_factory.mktemp("video-media"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        video=VideoServices(
            processing_url=RENDER,
            transcoding_url=TRANSCODE,
            token=Secret(TOKEN),
            poll_interval_s=0.001,
            poll_max_interval_s=0.004,
            render_timeout_s=5.0,
            transcode_timeout_s=5.0,
        ),
    )


@dataclass
class Services:
    render: FakeJobService
    transcode: FakeJobService


def install_services(mock: responses.RequestsMock, media: VideoFiles) -> Services:
    output = media.clip_a.read_bytes()
    render = FakeJobService(
        mock,
        RENDER,
        "/v1/renders",
        "r",
        list(RUNNING),
        {"url": RENDERED_URL, "mimeType": "video/quicktime"},
    ).install()
    transcode = FakeJobService(
        mock,
        TRANSCODE,
        "/v1/transcodes",
        "t",
        list(RUNNING),
        {"url": OUTPUT_URL, "mimeType": "video/mp4", "bytes": len(output)},
    ).install()
    mock.add("GET", OUTPUT_URL, body=output, headers={"Content-Length": str(len(output))})
    return Services(render, transcode)


@pytest.fixture
def services(payload: PayloadStub, media: VideoFiles) -> Services:
    return install_services(payload.mock, media)


def project_media(payload: PayloadStub) -> list[int]:
    return list(payload.collections["projects"][17]["media"])


def submit_video(client, payload: PayloadStub) -> str:
    cover, still = project_media(payload)
    response = client.post(
        "/exports/video",
        headers={"Authorization": EDITOR},
        json={
            "projectId": 17,
            "preset": "720p-h264",
            "timeline": {
                "clips": [
                    {"mediaId": cover, "in": 0, "out": 2},
                    {"mediaId": still, "in": 0, "out": 1.5, "transition": "fade"},
                ],
                "titles": [{"text": "Storm", "duration": 1, "at": 2}],
            },
        },
    )
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


# -- through the queue and worker --------------------------------------------------------


def test_the_services_render_transcode_and_the_result_lands_in_media(
    client, payload, worker, services, redis, media
):
    job_id = submit_video(client, payload)
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(job_id)
    assert state.status == "succeeded", state.error
    render = services.render.body()
    cover, still = project_media(payload)
    assert render["reference"] == f"export-{job_id}"
    assert render["durationSeconds"] == 4.5
    clips = render["timeline"]["clips"]
    assert [c["media"]["url"] for c in clips] == [
        "http://payload.test/api/media/file/cover.png",
        "http://payload.test/api/media/file/still.png",
    ]
    assert clips[1]["transition"] == "fade" and render["timeline"]["titles"][0]["at"] == 2
    transcode = services.transcode.body()
    assert transcode["input"] == {"url": RENDERED_URL, "mimeType": "video/quicktime"}
    assert transcode["preset"]["name"] == "720p-h264"
    assert transcode["preset"]["videoBitrateKbps"] == 5000
    assert all(
        r.headers["Authorization"] == f"Bearer {TOKEN}"
        for r in services.render.submissions + services.transcode.submissions
    )

    result = payload.collections["media"][state.result_media_id]
    uploaded = payload.files[result["filename"]]
    assert uploaded == media.clip_a.read_bytes()
    assert result["filename"].startswith("the-lighthouse-keeper-720p-h264-")  # + date, ids
    assert (result["preset"], result["codec"], result["audioCodec"]) == ("720p-h264", "h264", "aac")
    assert (result["width"], result["height"], result["duration"]) == (160, 90, 2.0)
    assert result["sourceMediaIds"] == [cover, still]
    assert result["engine"] == "services" and len(result["sha256"]) == 64
    assert services.render.deleted == services.transcode.deleted == []


def test_progress_moves_through_the_stages_and_never_back(client, payload, worker, services):
    job_id = submit_video(client, payload)
    run_jobs(worker)

    doc_id = next(d["id"] for d in payload.docs("export-requests") if d["jobId"] == job_id)
    seen = [
        (u["stage"], u["progress"])
        for i, u in payload.updates
        if i == doc_id and "stage" in u and u.get("status") == "running"
    ]
    stages = list(dict.fromkeys(stage for stage, _ in seen))
    assert stages == [
        "checking timeline",
        "rendering",
        "transcoding",
        "downloading result",
        "upload",
    ]
    percents = [percent for _, percent in seen]
    assert percents == sorted(percents)
    assert max(p for s, p in seen if s != "upload") <= 88
    rendering = [p for s, p in seen if s == "rendering"]
    assert rendering[0] >= 2 and rendering[-1] == 50 and len(set(rendering)) >= 3


def test_a_service_failure_reaches_the_error_sentence_verbatim(
    client, payload, worker, services, redis
):
    services.transcode.states = [
        {"state": "failed", "error": {"message": "unsupported codec in clip 3"}}
    ]
    job_id = submit_video(client, payload)
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(job_id)
    assert state.status == "failed"
    assert state.error == "transcoding service failed: unsupported codec in clip 3"
    assert services.transcode.deleted == []  # it has already stopped
    assert [d for d in payload.docs("media") if d.get("exportType")] == []


def test_a_service_that_never_finishes_times_out_and_is_cancelled(
    client, payload, worker, services, redis
):
    rt = runtime.current()
    rt.settings = replace(rt.settings, video=replace(rt.settings.video, render_timeout_s=0.05))
    services.render.states = [{"state": "running", "progress": 10}]
    job_id = submit_video(client, payload)
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(job_id)
    assert state.status == "failed"
    assert state.error == (
        "video-processing service did not finish job r-1 within 0.05 s "
        "(VIDEO_RENDER_TIMEOUT_S); it was asked to cancel it and nothing was uploaded"
    )
    assert services.render.deleted == ["r-1"]
    assert services.transcode.submissions == []


# -- the engine on its own ---------------------------------------------------------------

PROJECT = project_record({"id": 17, "media": [media_doc(5, "a.mp4", "video/mp4")]})


def plan() -> Any:
    timeline = {"clips": [{"mediaId": 5, "in": 0, "out": 2}]}
    return plan_for({"timeline": timeline, "preset": "720p-h264"}, PROJECT, max_seconds=60)


def request_for(tmp_path: Path, reports: list[tuple[str, float]] | None = None) -> RenderRequest:
    return RenderRequest(
        job_id="job-1",
        plan=plan(),
        workdir=tmp_path,
        progress=lambda stage, f: (reports if reports is not None else []).append((stage, f)),
        fetch_media=lambda source, folder: folder,
        media_url=lambda source: f"http://payload.test{source.url}",
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def mock() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stub:
        yield stub


@pytest.fixture
def engine_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        video=replace(
            settings.video, poll_interval_s=1.0, poll_max_interval_s=4.0, render_timeout_s=60.0
        ),
    )


def test_every_submission_carries_a_key_from_the_job_and_retries_reuse_it(
    mock, media, engine_settings, tmp_path
):
    fake = install_services(mock, media)
    fake.render.submit_replies = [(503, {"error": {"message": "busy"}})]
    clock = FakeClock()
    engine = ServicesEngine.from_settings(engine_settings, clock=clock, sleep=clock.sleep)

    result = engine.render(request_for(tmp_path))

    assert fake.render.keys() == ["export-job-1-render", "export-job-1-render"]
    assert fake.transcode.keys() == ["export-job-1-transcode"]
    assert list(fake.render.jobs.values()) == ["r-1"]  # one render, however many calls
    assert probe_mp4(result.path).video_codec == "h264"


def test_polling_backs_off_up_to_the_cap(mock, media, engine_settings, tmp_path):
    fake = install_services(mock, media)
    fake.render.states = [{"state": "running"}] * 5 + [{"state": "succeeded"}]
    clock = FakeClock()
    engine = ServicesEngine.from_settings(engine_settings, clock=clock, sleep=clock.sleep)
    engine.render(request_for(tmp_path))
    assert clock.sleeps[:6] == [1.0, 1.5, 2.25, 3.375, 4.0, 4.0]


def test_a_refused_submission_quotes_the_service_and_is_not_retried(
    mock, media, engine_settings, tmp_path
):
    fake = install_services(mock, media)
    fake.render.submit_replies = [(422, {"error": {"message": "clip 0: URL not reachable"}})]
    engine = ServicesEngine.from_settings(engine_settings, sleep=lambda s: None)
    with pytest.raises(VideoServiceError) as caught:
        engine.render(request_for(tmp_path))
    assert str(caught.value) == (
        "video-processing service answered 422 to POST /v1/renders: clip 0: URL not reachable"
    )
    assert len(fake.render.submissions) == 1


def test_cancelling_while_polling_cancels_the_remote_job(mock, media, engine_settings, tmp_path):
    fake = install_services(mock, media)
    fake.render.states = [{"state": "running"}]
    engine = ServicesEngine.from_settings(engine_settings, sleep=lambda s: engine.cancel())
    with pytest.raises(RenderCancelled, match="video-processing service job r-1 was asked"):
        engine.render(request_for(tmp_path))
    assert fake.render.deleted == ["r-1"]


def test_a_timeout_on_the_transcoding_service_cancels_that_job(
    mock, media, engine_settings, tmp_path
):
    fake = install_services(mock, media)
    fake.transcode.states = [{"state": "queued"}]
    clock = FakeClock()
    engine = ServicesEngine.from_settings(engine_settings, clock=clock, sleep=clock.sleep)
    with pytest.raises(VideoServiceTimeout, match=r"within 5 s \(VIDEO_TRANSCODE_TIMEOUT_S\)"):
        engine.render(request_for(tmp_path))
    assert (fake.render.deleted, fake.transcode.deleted) == ([], ["t-1"])


def test_an_output_on_an_origin_not_allowed_is_not_downloaded(
    mock, media, engine_settings, tmp_path
):
    fake = install_services(mock, media)
    fake.transcode.output = {"url": "http://elsewhere.test/video.mp4"}
    engine = ServicesEngine.from_settings(engine_settings, sleep=lambda s: None)
    with pytest.raises(VideoServiceError, match=r"elsewhere\.test is not an allowed origin"):
        engine.render(request_for(tmp_path))


def test_stage_progress_maps_onto_one_percent_that_never_goes_back():
    reports: list[tuple[str, float]] = []
    progress = StageProgress(lambda stage, pct: reports.append((stage, pct)), ServicesEngine.stages)
    progress("rendering", 0.5)
    progress("rendering", 0.25)  # a service that reports less than before
    progress("transcoding", 1.0)
    progress("downloading result", 7.0)
    assert reports == [
        ("rendering", 26.0),
        ("rendering", 26.0),
        ("transcoding", 80.0),
        ("downloading result", 88.0),
    ]


def test_a_stop_seen_at_a_progress_report_cancels_the_remote_job(
    mock, media, engine_settings, tmp_path
):
    fake = install_services(mock, media)

    def progress(stage: str, fraction: float) -> None:
        if fraction > 0:
            raise ExportCancelled("cancelled by editor@example.com")

    engine = ServicesEngine.from_settings(engine_settings, sleep=lambda s: None)
    with pytest.raises(ExportCancelled):
        engine.render(replace(request_for(tmp_path), progress=progress))
    assert fake.render.deleted == ["r-1"] and fake.transcode.submissions == []


# -- choosing the engine -----------------------------------------------------------------

BASE = {"PAYLOAD_URL": "http://cms.test", "PAYLOAD_API_KEY": "k"}


def test_the_services_engine_needs_both_urls_and_the_local_one_is_the_default():
    both = load_settings(
        {
            **BASE,
            "VIDEO_PROCESSING_URL": RENDER,
            "TRANSCODING_URL": TRANSCODE,
            "VIDEO_PROCESSING_PATH": "/api/jobs/",
            "VIDEO_SERVICES_TOKEN": TOKEN,
        },
        env_file=None,
    )
    engine = engine_for(both)
    assert isinstance(engine, ServicesEngine)
    assert engine.processing.jobs_url == f"{RENDER}/api/jobs"  # type: ignore[attr-defined]
    assert TOKEN not in repr(both) and TOKEN not in repr(engine.processing)
    assert isinstance(engine_for(load_settings(BASE, env_file=None)), LocalEngine)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VIDEO_PROCESSING_URL": RENDER}, "TRANSCODING_URL"),
        ({"TRANSCODING_URL": TRANSCODE}, "VIDEO_PROCESSING_URL"),
        ({"TRANSCODING_PATH": "v1/transcodes"}, "TRANSCODING_PATH"),
        ({"VIDEO_POLL_INTERVAL_S": "0"}, "VIDEO_POLL_INTERVAL_S"),
        ({"EXPORT_MAX_VIDEO_SECONDS": "ten"}, "EXPORT_MAX_VIDEO_SECONDS"),
    ],
)
def test_video_settings_errors_name_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings({**BASE, **env}, env_file=None)
