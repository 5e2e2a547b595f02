"""Tiny real media for the video tests, made by the ffmpeg imageio-ffmpeg ships."""

from __future__ import annotations

import subprocess
from pathlib import Path

from jobs.video.engine.ffmpeg import ffmpeg_exe
from jobs.video.timeline import Preset

# A preset small enough to encode in a blink; the engine takes any Preset.
TINY = Preset(
    name="tiny-h264",
    container="mp4",
    video_codec="h264",
    width=160,
    height=90,
    fps=15,
    video_bitrate_kbps=200,
    h264_profile="main",
    audio_bitrate_kbps=64,
)


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=60,
    )


def make_clip(path: Path, *, seconds: float = 2.0, tone_hz: int = 440, audio: bool = True) -> Path:
    """A test pattern (with a sine tone) of `seconds`, 160x90 at 15 fps, H.264/AAC."""
    inputs = ["-f", "lavfi", "-i", f"testsrc=size=160x90:rate=15:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}"]
    _ffmpeg(
        *inputs,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        *(["-c:a", "aac", "-b:a", "48k"] if audio else []),
        "-shortest",
        str(path),
    )
    return path


def make_tone(path: Path, *, seconds: float = 2.0, tone_hz: int = 660) -> Path:
    """A sine tone in an M4A (AAC) file."""
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={tone_hz}:duration={seconds}",
        "-c:a",
        "aac",
        "-b:a",
        "48k",
        str(path),
    )
    return path


class VideoFiles:
    """Media made once per test session: two 2-second clips, a tone and a still."""

    def __init__(self, folder: Path) -> None:
        self.clip_a = make_clip(folder / "clip-a.mp4", tone_hz=440)
        self.clip_b = make_clip(folder / "clip-b.mp4", tone_hz=880)
        self.silent = make_clip(folder / "silent.mp4", audio=False)
        self.tone = make_tone(folder / "tone.m4a")


_made: dict[str, VideoFiles] = {}


def video_files(folder: Path) -> VideoFiles:
    """The session's `VideoFiles`, made in `folder` the first time."""
    if "files" not in _made:
        _made["files"] = VideoFiles(folder)
    return _made["files"]


def media_doc(media_id: int, filename: str, mime_type: str, **extra: object) -> dict[str, object]:
    """A media document shaped like Payload's."""
    return {
        "id": media_id,
        "filename": filename,
        "mimeType": mime_type,
        "url": f"/api/media/file/{filename}",
        "filesize": 1000,
        **extra,
    }
