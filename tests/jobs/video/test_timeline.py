"""Timelines and presets: the schema, title cards, and errors that name the field."""

from __future__ import annotations

import pytest

from jobs.video.timeline import (
    PRESETS,
    ClipSegment,
    TimelineError,
    TitleSegment,
    plan_for,
)
from tests.jobs.video.video_media import media_doc
from tests.records import project_record

PROJECT_DOC = {
    "id": 17,
    "coverImage": media_doc(1, "cover.png", "image/png"),
    "media": [
        media_doc(1, "cover.png", "image/png"),
        media_doc(2, "intro.mp4", "video/mp4", duration=8.0),
        media_doc(3, "score.mp3", "audio/mpeg"),
        media_doc(4, "notes.pdf", "application/pdf"),
        55,  # listed on the project, but Payload could not populate it
    ],
    "timeline": {"clips": [{"mediaId": 2, "in": 0, "out": 3}]},
}
PROJECT = project_record(PROJECT_DOC)


def plan(timeline: object = None, preset: str = "720p-h264", max_seconds: int = 600):
    return plan_for({"timeline": timeline, "preset": preset}, PROJECT, max_seconds=max_seconds)


def error_of(timeline: object = None, preset: str = "720p-h264", **kwargs: int) -> TimelineError:
    with pytest.raises(TimelineError) as caught:
        plan(timeline, preset, **kwargs)
    return caught.value


def test_presets_spell_out_codec_size_and_bitrates():
    assert set(PRESETS) >= {"1080p-h264", "720p-h264", "audio-aac"}
    hd = PRESETS["1080p-h264"]
    assert (hd.video_codec, hd.width, hd.height, hd.fps, hd.video_bitrate_kbps) == (
        "h264",
        1920,
        1080,
        30,
        8000,
    )
    assert (hd.audio_codec, hd.audio_bitrate_kbps, hd.mime_type) == ("aac", 192, "video/mp4")
    audio = PRESETS["audio-aac"]
    assert not audio.has_video and audio.mime_type == "audio/mp4" and audio.extension == ".m4a"


def test_clips_play_in_order_and_images_last_out_minus_in():
    result = plan(
        {
            "clips": [
                {"mediaId": 2, "in": 1, "out": 4, "transition": "fade"},
                {"mediaId": 1, "in": 0, "out": 2.5},
            ],
            "audio": [{"mediaId": 3, "start": 1, "gain": -6}],
        }
    )
    assert [s.duration_s for s in result.segments] == [3, 2.5]
    assert result.duration_s == 5.5
    first = result.segments[0]
    assert isinstance(first, ClipSegment) and first.fade_in
    assert result.media_ids == [2, 1, 3]
    assert result.audio[0].gain_db == -6
    assert result.timeline["clips"][0]["in"] == 1  # serialised with its JSON name


def test_the_projects_own_timeline_is_used_when_the_request_has_none():
    result = plan(None)
    assert result.duration_s == 3 and result.media_ids == [2]


def test_title_cards_are_inserted_at_their_time_splitting_a_clip():
    result = plan(
        {
            "clips": [{"mediaId": 2, "in": 0, "out": 4}, {"mediaId": 1, "in": 0, "out": 2}],
            "titles": [
                {"text": "End", "duration": 1, "at": 6},
                {"text": "Open", "duration": 2, "at": 0},
                {"text": "Middle", "duration": 1, "at": 1.5},
            ],
        }
    )
    shape = [
        (s.text if isinstance(s, TitleSegment) else s.clip_index, s.duration_s)
        for s in result.segments
    ]
    assert shape == [("Open", 2), (0, 1.5), ("Middle", 1), (0, 2.5), (1, 2), ("End", 1)]
    assert result.duration_s == 10
    middle = result.segments[3]
    assert isinstance(middle, ClipSegment) and (middle.in_s, middle.out_s) == (1.5, 4)


@pytest.mark.parametrize(
    ("timeline", "field", "words"),
    [
        ({"clips": []}, "timeline.clips", "at least one clip"),
        ({"clips": [{"mediaId": 2, "in": 3, "out": 3}]}, "timeline.clips[0].out", "after in"),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1}, {"mediaId": 2, "in": 0, "out": 9}]},
            "timeline.clips[1].out",
            "past the end of media 2 (intro.mp4), which lasts 8 s",
        ),
        (
            {"clips": [{"mediaId": 99, "in": 0, "out": 1}]},
            "timeline.clips[0].mediaId",
            "media 99 is not a media item of project 17",
        ),
        (
            {"clips": [{"mediaId": 55, "in": 0, "out": 1}]},
            "timeline.clips[0].mediaId",
            "media 55 was not found in Payload",
        ),
        (
            {"clips": [{"mediaId": 3, "in": 0, "out": 1}]},
            "timeline.clips[0].mediaId",
            "media 3 (score.mp3) is audio/mpeg; this needs video or image",
        ),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1}], "audio": [{"mediaId": 1}]},
            "timeline.audio[0].mediaId",
            "this needs audio or video",
        ),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1}], "audio": [{"mediaId": 3, "start": 1}]},
            "timeline.audio[0].start",
            "at or after the end of the video (1 s)",
        ),
        (
            {
                "clips": [{"mediaId": 2, "in": 0, "out": 1}],
                "titles": [{"text": "x", "duration": 1, "at": 2}],
            },
            "timeline.titles[0].at",
            "after the end of the clips",
        ),
        ({"clips": [{"mediaId": 2, "in": "0", "out": 1}]}, "timeline.clips[0].in", "valid number"),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1, "speed": 2}]},
            "timeline.clips[0].speed",
            "not a field",
        ),
        ({"clips": [{"mediaId": 2, "out": 1}]}, "timeline.clips[0].in", "required"),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1, "transition": "wipe"}]},
            "timeline.clips[0].transition",
            "'cut' or 'fade'",
        ),
        (
            {"clips": [{"mediaId": 2, "in": 0, "out": 1}], "audio": [{"mediaId": 3, "gain": 40}]},
            "timeline.audio[0].gain",
            "less than or equal to 12",
        ),
    ],
)
def test_problems_name_the_field(timeline, field, words):
    error = error_of(timeline)
    assert error.field == field
    assert words in error.message and error.message.startswith(field)


def test_an_unknown_preset_names_the_known_ones():
    error = error_of(None, "4k-prores")
    assert error.field == "preset"
    assert "'4k-prores' is not a preset" in error.message and "720p-h264" in error.message


def test_a_timeline_over_the_limit_says_where_it_passes_it():
    timeline = {"clips": [{"mediaId": 2, "in": 0, "out": 8}] * 3}
    error = error_of(timeline, max_seconds=20)
    assert error.field == "timeline"
    assert "24 s long, over EXPORT_MAX_VIDEO_SECONDS (20 s)" in error.message
    assert "timeline.clips[2]" in error.message


def test_a_bad_project_timeline_says_it_came_from_the_project():
    project = project_record({**PROJECT_DOC, "timeline": {"clips": []}})
    with pytest.raises(TimelineError, match="project 17's own timeline"):
        plan_for({"preset": "720p-h264"}, project, max_seconds=60)
