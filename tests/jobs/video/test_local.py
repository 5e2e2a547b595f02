"""The local engine, for real: tiny clips made by ffmpeg, rendered, and read back."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from jobs.errors import ExportCancelled
from jobs.video.engine import FfmpegFailed, RenderCancelled, RenderRequest, VideoEngineError
from jobs.video.engine.ffmpeg import parse_input_info, probe_input, progress_seconds
from jobs.video.engine.local import FONT_PATH, FilterGraph, LocalEngine
from jobs.video.engine.probe import NotMP4, probe_mp4
from jobs.video.timeline import PRESETS, RenderPlan, plan_for
from tests.jobs.video.video_media import TINY, VideoFiles, media_doc, video_files
from tests.payload_stub import png_bytes
from tests.records import project_record


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> VideoFiles:
    return video_files(tmp_path_factory.mktemp("video-media"))


@pytest.fixture
def files(media: VideoFiles, tmp_path: Path) -> dict[int, Path]:
    still = tmp_path / "still.png"
    still.write_bytes(png_bytes(64, 48, "teal"))
    return {1: media.clip_a, 2: media.clip_b, 3: still, 4: media.tone, 5: media.silent}


PROJECT = project_record(
    {
        "id": 17,
        "media": [
            media_doc(1, "clip-a.mp4", "video/mp4"),
            media_doc(2, "clip-b.mp4", "video/mp4"),
            media_doc(3, "still.png", "image/png"),
            media_doc(4, "tone.m4a", "audio/mp4"),
            media_doc(5, "silent.mp4", "video/mp4"),
        ],
    }
)


def make_plan(timeline: dict[str, object], preset: str = "360p-h264") -> RenderPlan:
    result = plan_for({"timeline": timeline, "preset": preset}, PROJECT, max_seconds=60)
    return result if preset != "360p-h264" else replace(result, preset=TINY)


def request_for(
    plan: RenderPlan,
    files: dict[int, Path],
    workdir: Path,
    reports: list[tuple[str, float]] | None = None,
    **extra: object,
) -> RenderRequest:
    workdir.mkdir(exist_ok=True)
    return RenderRequest(
        job_id="job-1",
        plan=plan,
        workdir=workdir,
        progress=lambda stage, fraction: (reports if reports is not None else []).append(
            (stage, fraction)
        ),
        fetch_media=lambda source, folder: files[int(source.media_id)],
        media_url=lambda source: source.url,
        **extra,  # type: ignore[arg-type]
    )


def test_clips_stills_titles_and_audio_render_to_the_timelines_length(files, tmp_path):
    plan = make_plan(
        {
            "clips": [
                {"mediaId": 1, "in": 0.5, "out": 2},
                {"mediaId": 3, "in": 0, "out": 1, "transition": "fade"},
                {"mediaId": 5, "in": 0, "out": 1.5},
            ],
            "audio": [{"mediaId": 4, "start": 1, "gain": -6}],
            "titles": [{"text": "The Lighthouse Keeper", "duration": 1, "at": 1}],
        }
    )
    reports: list[tuple[str, float]] = []
    result = LocalEngine().render(request_for(plan, files, tmp_path / "work", reports))

    info = probe_mp4(result.path)
    assert info.duration_s == pytest.approx(5.0, abs=0.1)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == ("h264", "aac", 160, 90)
    stages = [stage for stage, _ in reports]
    assert stages[0] == "fetching media" and stages[-1] == "rendering"
    assert reports[-1][1] == pytest.approx(1.0, abs=0.05)


def test_an_audio_preset_renders_sound_only(files, tmp_path):
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 1.5}]}, preset="audio-aac")
    result = LocalEngine().render(request_for(plan, files, tmp_path / "work"))
    info = probe_mp4(result.path)
    assert result.path.suffix == ".m4a"
    assert (info.video_codec, info.audio_codec) == (None, "aac")
    assert info.duration_s == pytest.approx(1.5, abs=0.1)


def test_title_cards_fall_back_to_pillow_without_drawtext(files, tmp_path):
    plan = make_plan(
        {
            "clips": [{"mediaId": 2, "in": 0, "out": 1}],
            "titles": [{"text": "Fin", "duration": 1, "at": 1}],
        }
    )
    result = LocalEngine(use_drawtext=False).render(request_for(plan, files, tmp_path / "w"))
    assert (tmp_path / "w" / "title-1.png").is_file()
    assert probe_mp4(result.path).duration_s == pytest.approx(2.0, abs=0.1)


def test_a_clip_past_the_end_of_its_source_names_the_clip(files, tmp_path):
    plan = make_plan(
        {"clips": [{"mediaId": 1, "in": 0, "out": 1}, {"mediaId": 2, "in": 1, "out": 3.5}]}
    )
    with pytest.raises(VideoEngineError, match=r"timeline.clips\[1\].out: 3.5 is past the end"):
        LocalEngine().render(request_for(plan, files, tmp_path / "work"))


def test_audio_from_a_file_without_sound_is_refused(files, tmp_path):
    plan = make_plan(
        {"clips": [{"mediaId": 1, "in": 0, "out": 1}], "audio": [{"mediaId": 5, "start": 0}]}
    )
    with pytest.raises(VideoEngineError, match=r"timeline.audio\[0\].mediaId: .* has no sound"):
        LocalEngine().render(request_for(plan, files, tmp_path / "work"))


def test_a_file_ffmpeg_cannot_read_is_named(files, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 1}]})
    with pytest.raises(FfmpegFailed, match=r"media 1 \(clip-a.mp4\) is not a file ffmpeg can"):
        LocalEngine().render(request_for(plan, {**files, 1: broken}, tmp_path / "work"))


def test_a_failing_ffmpeg_reports_its_own_words(files, tmp_path):
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 1}]})
    engine = LocalEngine(x264_speed="no-such-speed")
    with pytest.raises(FfmpegFailed, match=r"ffmpeg could not render the video \(exit status"):
        engine.render(request_for(plan, files, tmp_path / "work"))


def test_stopping_the_job_kills_ffmpeg(files, tmp_path):
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 2}] * 3})
    engine = LocalEngine()
    killed = threading.Event()

    def stop_once_rendering() -> bool:
        process = engine._process
        if process is not None:
            killed.set()
            return True
        return False

    request = request_for(plan, files, tmp_path / "work", should_stop=stop_once_rendering)
    with pytest.raises(RenderCancelled, match="ffmpeg was stopped"):
        engine.render(request)
    assert killed.is_set() and engine._process is None


def test_cancel_before_render_stops_before_fetching(files, tmp_path):
    engine = LocalEngine()
    engine.cancel()
    fetched: list[object] = []
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 1}]})
    request = replace(
        request_for(plan, files, tmp_path / "work"),
        fetch_media=lambda source, folder: fetched.append(source),
    )  # type: ignore[arg-type, func-returns-value]
    with pytest.raises(RenderCancelled):
        engine.render(request)
    assert fetched == []


def test_ffmpeg_i_output_is_read_for_durations_and_codecs(media):
    info = probe_input(_ffmpeg(), media.clip_a)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == ("h264", "aac", 160, 90)
    assert parse_input_info("Duration: 01:02:03.50, start: 0").duration_s == 3723.5
    assert not parse_input_info("broken.mp4: Invalid data found").readable
    assert progress_seconds("out_time_us=1500000\n") == 1.5
    assert progress_seconds("progress=continue") is None


def test_the_mp4_reader_refuses_what_is_not_mp4(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00")
    with pytest.raises(NotMP4):
        probe_mp4(junk)


def test_the_preset_is_what_the_encoder_is_given(files, tmp_path):
    plan = replace(
        make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 1}]}), preset=PRESETS["720p-h264"]
    )
    infos = {"1": probe_input(_ffmpeg(), files[1])}
    graph = FilterGraph(plan, {"1": files[1]}, infos, tmp_path, font=FONT_PATH, drawtext=True)
    command = " ".join(graph.arguments(tmp_path / "out.mp4", x264_speed="veryfast"))
    assert "scale=1280:720:force_original_aspect_ratio=decrease" in command
    for option in (
        "-c:v libx264",
        "-profile:v high",
        "-b:v 5000k",
        "-r 30",
        "-c:a aac",
        "-b:a 160k",
        "-ar 48000",
        "-ac 2",
        "-progress pipe:1",
    ):
        assert option in command


def _ffmpeg() -> str:
    from jobs.video.engine.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


def test_a_stop_seen_at_a_progress_report_kills_ffmpeg(files, tmp_path):
    plan = make_plan({"clips": [{"mediaId": 1, "in": 0, "out": 2}] * 3})
    engine = LocalEngine()

    def progress(stage: str, fraction: float) -> None:
        if stage == "rendering":
            raise ExportCancelled("cancelled by editor@example.com")

    with pytest.raises(ExportCancelled):
        engine.render(replace(request_for(plan, files, tmp_path / "work"), progress=progress))
    assert engine._process is None
