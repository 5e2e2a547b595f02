"""What a rendered file shows and sounds like, read back by ffmpeg (imageio-ffmpeg's build),
not by the project's own MP4 reader: frames as small RGB images, sound as PCM levels."""

from __future__ import annotations

import math
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from imageio_ffmpeg import get_ffmpeg_exe

AUDIO_RATE_HZ = 8000


def _decode(path: Path, *args: str) -> bytes:
    done = subprocess.run(
        [
            get_ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            *args,
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@dataclass(frozen=True)
class Frames:
    """Every video frame at `fps`, scaled to width × height, as RGB bytes."""

    data: bytes
    width: int
    height: int
    fps: float

    @property
    def count(self) -> int:
        return len(self.data) // (self.width * self.height * 3)

    def pixels(self, at_s: float) -> list[tuple[int, int, int]]:
        size = self.width * self.height * 3
        index = min(int(at_s * self.fps), self.count - 1)
        frame = self.data[index * size : (index + 1) * size]
        return [tuple(frame[i : i + 3]) for i in range(0, size, 3)]  # type: ignore[misc]

    def mean(self, at_s: float) -> tuple[float, float, float]:
        """The frame's average colour at `at_s` seconds."""
        pixels = self.pixels(at_s)
        return tuple(sum(p[c] for p in pixels) / len(pixels) for c in range(3))  # type: ignore[return-value]


def frames(path: Path, *, width: int, height: int, fps: float) -> Frames:
    raw = _decode(
        path, "-vf", f"scale={width}:{height}", "-r", str(fps), "-f", "rawvideo",
        "-pix_fmt", "rgb24", "-",
    )  # fmt: skip
    return Frames(raw, width, height, fps)


def sound_levels(path: Path, *, window_s: float = 0.25) -> list[float]:
    """RMS level of the (mono-mixed) sound in dBFS, one per `window_s` from the start."""
    raw = _decode(path, "-vn", "-ac", "1", "-ar", str(AUDIO_RATE_HZ), "-f", "s16le", "-")
    samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
    step = int(window_s * AUDIO_RATE_HZ)
    levels = []
    for start in range(0, len(samples) - step + 1, step):
        window = samples[start : start + step]
        rms = math.sqrt(sum(s * s for s in window) / len(window)) / 32768
        levels.append(20 * math.log10(rms) if rms > 0 else -120.0)
    return levels


def level_at(levels: list[float], at_s: float, window_s: float = 0.25) -> float:
    return levels[int(at_s / window_s)]
