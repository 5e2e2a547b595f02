"""A rendered timeline, checked by an independent decoder: distinct solid-colour clips
sampled at known times prove the order, the title card is light text on black, a fade
starts dark, and the sound is there exactly where the sources have sound."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jobs.video.engine.local import LocalEngine
from jobs.video.timeline import plan_for
from tests.jobs.video.decoded import frames, level_at, sound_levels
from tests.jobs.video.test_local import request_for
from tests.jobs.video.video_media import TINY, _ffmpeg, media_doc
from tests.records import project_record

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
SILENCE_DBFS = -60.0
TONE_DBFS = -30.0  # lavfi's sine is at -21 dBFS RMS


def solid_clip(path: Path, colour: str, *, tone_hz: int | None) -> Path:
    inputs = ["-f", "lavfi", "-i", f"color=c={colour}:size=160x90:rate=15:duration=2"]
    audio = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration=2"] if tone_hz else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    _ffmpeg(*inputs, *audio, *codecs, *(["-c:a", "aac"] if tone_hz else []), str(path))
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("decoded")
    files = {
        1: solid_clip(folder / "red.mp4", "red", tone_hz=440),
        2: solid_clip(folder / "green.mp4", "green", tone_hz=660),
        3: solid_clip(folder / "blue.mp4", "blue", tone_hz=None),
    }
    project = project_record(
        {"id": 17, "media": [media_doc(n, path.name, "video/mp4") for n, path in files.items()]}
    )
    timeline = {
        "clips": [
            {"mediaId": 1, "in": 0, "out": 2},
            {"mediaId": 2, "in": 0, "out": 2, "transition": "fade"},
            {"mediaId": 3, "in": 0, "out": 2},
        ],
        "titles": [{"text": "THE LIGHTHOUSE KEEPER", "duration": 1, "at": 0}],
    }
    plan = plan_for({"timeline": timeline, "preset": "360p-h264"}, project, max_seconds=60)
    request = request_for(replace(plan, preset=TINY), files, folder / "work")
    return LocalEngine().render(request).path


def nearest(colour: tuple[float, float, float]) -> str:
    return min(
        COLOURS,
        key=lambda name: sum((a - b) ** 2 for a, b in zip(colour, COLOURS[name], strict=True)),
    )


def test_the_clips_play_in_timeline_order_after_the_title(rendered):
    video = frames(rendered, width=16, height=9, fps=15)
    assert video.count == pytest.approx(7 * 15, abs=2)  # 1 s title + three 2 s clips
    assert [nearest(video.mean(t)) for t in (1.5, 2.5, 4.0, 4.9, 5.5, 6.9)] == [
        "red", "red", "green", "green", "blue", "blue",
    ]  # fmt: skip


def test_the_title_card_is_light_text_on_black(rendered):
    card = frames(rendered, width=160, height=90, fps=15).pixels(0.5)
    bright = sum(1 for p in card if min(p) > 180)
    dark = sum(1 for p in card if max(p) < 40)
    assert dark > 0.7 * len(card)  # a black card…
    assert bright > 30  # …with light lettering on it


def test_a_fade_rises_from_black(rendered):
    video = frames(rendered, width=16, height=9, fps=15)
    green = [video.mean(t)[1] for t in (3.0, 3.2, 3.4, 4.0)]
    assert green[0] < 0.4 * green[-1], green  # the fade starts dark
    assert green[0] < green[1] < green[2] <= green[3] + 5, green  # and brightens
    assert video.mean(1.0)[0] > 0.8 * video.mean(2.0)[0]  # the red clip has no fade


def test_there_is_sound_exactly_where_the_sources_have_it(rendered):
    levels = sound_levels(rendered)
    assert level_at(levels, 0.5) < SILENCE_DBFS  # the title card is silent
    assert level_at(levels, 2.0) > TONE_DBFS  # the red clip's tone
    assert level_at(levels, 4.0) > TONE_DBFS  # the green clip's tone, after its fade
    assert level_at(levels, 3.0) < level_at(levels, 4.0) - 6  # which fades in too
    assert level_at(levels, 6.0) < SILENCE_DBFS  # the blue clip has no sound
