"""The ffmpeg binary imageio-ffmpeg ships, and what it says about files and itself.

No ffprobe ships with it, so a source is described by parsing what `ffmpeg -i FILE`
prints; `-progress pipe:1` lines are parsed into seconds done.
"""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 30.0

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+(?:\[\w+\])?(?:\(\w+\))?: (Video|Audio): (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")


class FfmpegMissing(RuntimeError):
    """imageio-ffmpeg is not installed or its binary cannot run."""


@functools.cache
def ffmpeg_exe() -> str:
    """The path of the ffmpeg binary imageio-ffmpeg ships (or IMAGEIO_FFMPEG_EXE)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise FfmpegMissing(
            "the local video engine needs the imageio-ffmpeg package (pip install imageio-ffmpeg)"
        ) from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@functools.cache
def has_filter(ffmpeg: str, name: str) -> bool:
    """Whether this ffmpeg build has the filter `name` (drawtext needs libfreetype)."""
    listing = subprocess.run(
        [ffmpeg, "-hide_banner", "-filters"],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    ).stdout
    return any(line.split()[1:2] == [name] for line in listing.splitlines())


@dataclass(frozen=True)
class InputInfo:
    """What `ffmpeg -i` says about a source file."""

    duration_s: float | None
    video_codec: str | None
    audio_codec: str | None
    width: int | None = None
    height: int | None = None

    @property
    def readable(self) -> bool:
        return self.video_codec is not None or self.audio_codec is not None


def probe_input(ffmpeg: str, path: Path) -> InputInfo:
    """Describe a source by parsing `ffmpeg -i` (which exits 1: no output was asked for)."""
    completed = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    return parse_input_info(completed.stderr)


def parse_input_info(text: str) -> InputInfo:
    duration = None
    match = _DURATION.search(text)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video = audio = None
    width = height = None
    for kind, codec, rest in _STREAM.findall(text):
        if kind == "Video" and video is None:
            video = codec
            size = _SIZE.search(rest)
            if size:
                width, height = int(size.group(1)), int(size.group(2))
        elif kind == "Audio" and audio is None:
            audio = codec
    return InputInfo(duration, video, audio, width, height)


def progress_seconds(line: str) -> float | None:
    """Seconds of output written, from one `-progress` line (`out_time_us=1234567`)."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms") and value.lstrip("-").isdigit():
        # ffmpeg's out_time_ms is in microseconds too (a long-standing misnomer).
        return max(0.0, int(value) / 1_000_000)
    return None


def log_tail(path: Path, *, lines: int = 6, max_chars: int = 600) -> str:
    """The last lines of an ffmpeg log, for an error sentence."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    tail = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
    return tail[-max_chars:]
