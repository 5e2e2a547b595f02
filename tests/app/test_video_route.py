"""`POST /exports/video`: every problem is a 422 naming the field, before anything is
queued; a good request queues a job that renders a real video with the local engine."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.settings import Settings
from jobs.state import JobStore
from jobs.video.engine.probe import probe_mp4
from tests.conftest import EDITOR, OUTSIDER, leftovers, queued_jobs, run_jobs
from tests.jobs.video.video_media import VideoFiles, video_files
from tests.payload_stub import PayloadStub

MAX_VIDEO_SECONDS = 30


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> VideoFiles:
    return video_files(tmp_path_factory.mktemp("video-media"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, limits=replace(settings.limits, max_video_seconds=MAX_VIDEO_SECONDS))


@pytest.fixture
def ids(payload: PayloadStub, media: VideoFiles) -> dict[str, int]:
    """Project 17's media, plus real clips and a tone, one item elsewhere and one missing."""
    project = payload.collections["projects"][17]
    cover, still = project["media"]
    found = {"cover": cover, "still": still}
    for name, path, mime_type in (
        ("a", media.clip_a, "video/mp4"),
        ("b", media.clip_b, "video/mp4"),
        ("silent", media.silent, "video/mp4"),
        ("tone", media.tone, "audio/mp4"),
    ):
        doc = payload.add_media_file(path.name, path.read_bytes(), mime_type, duration=2.0)
        project["media"].append(doc["id"])
        found[name] = doc["id"]
    found["elsewhere"] = payload.add_media_file("other.mp4", b"x", "video/mp4")["id"]
    found["missing"] = 999
    project["media"].append(999)
    return found


def post(client: TestClient, body: dict[str, Any], auth: str = EDITOR):
    return client.post("/exports/video", json=body, headers={"Authorization": auth})


def clip(media_id: int, start: float = 0, end: float = 1, **extra: Any) -> dict[str, Any]:
    return {"mediaId": media_id, "in": start, "out": end, **extra}


CASES: list[tuple[str, Any, str, str]] = [
    # (name, timeline or a function of ids, field, words in the message)
    ("unknown preset", None, "preset", "'8k-prores' is not a preset"),
    ("empty", {"clips": []}, "timeline.clips", "at least one clip"),
    ("project timeline empty", None, "timeline.clips", "project 17's own timeline"),
    (
        "out before in",
        lambda i: {"clips": [clip(i["a"]), clip(i["b"]), clip(i["a"], 1.5, 1)]},
        "timeline.clips[2].out",
        "1 must be after in (1.5)",
    ),
    (
        "out equals in",
        lambda i: {"clips": [clip(i["a"], 1, 1)]},
        "timeline.clips[0].out",
        "must be after in",
    ),
    (
        "not the project's",
        lambda i: {"clips": [clip(i["a"]), clip(i["elsewhere"])]},
        "timeline.clips[1].mediaId",
        "is not a media item of project 17",
    ),
    (
        "not in Payload",
        lambda i: {"clips": [clip(i["missing"])]},
        "timeline.clips[0].mediaId",
        "media 999 was not found in Payload",
    ),
    (
        "audio as a clip",
        lambda i: {"clips": [clip(i["tone"])]},
        "timeline.clips[0].mediaId",
        "this needs video or image",
    ),
    (
        "image as audio",
        lambda i: {
            "clips": [clip(i["a"])],
            "audio": [{"mediaId": i["still"], "start": 0, "gain": 0}],
        },
        "timeline.audio[0].mediaId",
        "this needs audio or video",
    ),
    (
        "past the source",
        lambda i: {"clips": [clip(i["a"], 0, 3)]},
        "timeline.clips[0].out",
        "past the end of",
    ),
    (
        "over the limit",
        lambda i: {"clips": [clip(i["still"], 0, 20), clip(i["cover"], 0, 20)]},
        "timeline",
        "over EXPORT_MAX_VIDEO_SECONDS (30 s); it passes the limit at timeline.clips[1]",
    ),
    (
        "not a number",
        lambda i: {"clips": [clip(i["a"], "0")]},
        "timeline.clips[0].in",
        "valid number",
    ),
    (
        "unknown field",
        lambda i: {"clips": [clip(i["a"], speed=2)]},
        "timeline.clips[0].speed",
        "not a field a timeline accepts",
    ),
]


@pytest.mark.parametrize(
    ("timeline", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_problem_is_a_422_naming_the_field(client, payload, ids, timeline, field, words):
    preset = "8k-prores" if field == "preset" else "720p-h264"
    body: dict[str, Any] = {"projectId": 17, "preset": preset}
    if timeline is not None:
        body["timeline"] = timeline(ids) if callable(timeline) else timeline
    response = post(client, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_field", field)
    assert words in error["message"]
    assert payload.docs("export-requests") == []


def test_the_body_itself_is_checked_first(client, payload, redis, settings):
    response = post(client, {"projectId": 17})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "preset"
    response = post(client, {"projectId": 17, "preset": "720p-h264", "timeline": [1]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "timeline"
    assert queued_jobs(redis, settings) == []


def test_callers_who_cannot_read_the_project_learn_nothing_of_its_media(client, payload, ids):
    response = post(client, {"projectId": 17, "preset": "nope"}, auth=OUTSIDER)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "project_not_found"


def test_a_good_request_is_queued_with_the_checked_timeline(client, payload, ids):
    payload.collections["projects"][17]["timeline"] = {"clips": [clip(ids["a"], 0, 2)]}
    response = post(client, {"projectId": 17, "preset": "1080p-h264"})
    assert response.status_code == 202, response.text
    [doc] = payload.docs("export-requests")
    assert (doc["type"], doc["jobId"]) == ("video", response.json()["jobId"])
    assert doc["params"] == {
        "preset": "1080p-h264",
        "timeline": {
            "clips": [{"mediaId": ids["a"], "in": 0.0, "out": 2.0, "transition": "cut"}],
            "audio": [],
            "titles": [],
        },
    }


def test_a_three_clip_video_renders_end_to_end_with_the_local_engine(
    client, payload, ids, worker, redis, settings
):
    timeline = {
        "clips": [
            clip(ids["a"], 0.5, 2),
            clip(ids["still"], 0, 1, transition="fade"),
            clip(ids["b"], 0, 1.5),
        ],
        "audio": [{"mediaId": ids["tone"], "start": 0.5, "gain": -6}],
        "titles": [{"text": "The Lighthouse Keeper", "duration": 1, "at": 0}],
    }
    response = post(client, {"projectId": 17, "preset": "360p-h264", "timeline": timeline})
    assert response.status_code == 202, response.text
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(response.json()["jobId"])
    assert state.status == "succeeded", state.error
    result = payload.collections["media"][state.result_media_id]
    assert result["mimeType"] == "video/mp4"
    assert result["filename"].startswith("the-lighthouse-keeper-360p-h264-")  # + date, ids
    uploaded = settings.temp_dir / "uploaded.mp4"
    uploaded.write_bytes(payload.files[result["filename"]])
    info = probe_mp4(uploaded)
    assert info.duration_s == pytest.approx(5.0, abs=0.1)  # 1.5 + 1 + 1.5 + a 1 s title
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        640,
        360,
    )
    assert result["duration"] == pytest.approx(5.0, abs=0.1)
    assert (result["preset"], result["codec"], result["engine"]) == ("360p-h264", "h264", "local")
    assert result["sourceMediaIds"] == [ids["a"], ids["still"], ids["b"], ids["tone"]]
    assert result["exportType"] == "video" and result["exportOf"] == 17
    uploaded.unlink()
    assert leftovers(settings.temp_dir) == []
