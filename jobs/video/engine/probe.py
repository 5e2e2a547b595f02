"""What an MP4/M4A file holds, read from its boxes: duration, picture size and codecs.

No ffprobe ships with imageio-ffmpeg, and the services engine may run where no ffmpeg is
wanted at all, so the result is described by reading the ISO-BMFF `moov` box directly
(`mvhd` duration, each `trak`'s handler, `tkhd` size and `stsd` sample entry). Only `moov`
is read into memory; `mdat` is skipped by seeking.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_MOOV_BYTES = 64 * 1024**2
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
CODECS = {
    b"avc1": "h264",
    b"avc3": "h264",
    b"hvc1": "hevc",
    b"hev1": "hevc",
    b"vp09": "vp9",
    b"av01": "av1",
    b"mp4a": "aac",
    b"Opus": "opus",
    b"ac-3": "ac3",
    b"mp4v": "mpeg4",
}


class NotMP4(ValueError):
    """The file is not an MP4 this reader understands."""


@dataclass(frozen=True)
class MediaInfo:
    """What a rendered file contains."""

    duration_s: float
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


@dataclass
class _Track:
    handler: bytes = b""
    width: int = 0
    height: int = 0
    codec: str | None = None


def probe_mp4(path: Path) -> MediaInfo:
    """Describe an MP4/M4A file; raise `NotMP4` if it has no readable `moov`."""
    with path.open("rb") as fileobj:
        moov = _read_moov(fileobj, path.stat().st_size)
    duration = 0.0
    tracks: list[_Track] = []
    for kind, body in _boxes(moov):
        if kind == b"mvhd":
            duration = _mvhd_duration(body)
        elif kind == b"trak":
            tracks.append(_track(body))
    video = next((t for t in tracks if t.handler == b"vide"), None)
    audio = next((t for t in tracks if t.handler == b"soun"), None)
    return MediaInfo(
        duration_s=duration,
        width=video.width if video else None,
        height=video.height if video else None,
        video_codec=video.codec if video else None,
        audio_codec=audio.codec if audio else None,
    )


def _read_moov(fileobj: BinaryIO, file_size: int) -> bytes:
    offset = 0
    while offset + 8 <= file_size:
        fileobj.seek(offset)
        size, kind, header = _box_header(fileobj.read(16), file_size - offset)
        if kind == b"moov":
            if size > MAX_MOOV_BYTES:
                raise NotMP4(f"its moov box is {size} bytes, over {MAX_MOOV_BYTES}")
            fileobj.seek(offset + header)
            return fileobj.read(size - header)
        offset += size
    raise NotMP4("no moov box")


def _box_header(data: bytes, remaining: int) -> tuple[int, bytes, int]:
    if len(data) < 8:
        raise NotMP4("truncated box header")
    size, kind = struct.unpack(">I4s", data[:8])
    header = 8
    if size == 1:
        if len(data) < 16:
            raise NotMP4("truncated 64-bit box header")
        size = struct.unpack(">Q", data[8:16])[0]
        header = 16
    elif size == 0:
        size = remaining
    if size < header or size > remaining:
        raise NotMP4(f"box {kind!r} has an impossible size {size}")
    return size, kind, header


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 0
    while offset + 8 <= len(data):
        size, kind, header = _box_header(data[offset : offset + 16], len(data) - offset)
        yield kind, data[offset + header : offset + size]
        offset += size


def _walk(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every box below `data`, depth first, descending into the container boxes."""
    for kind, body in _boxes(data):
        yield kind, body
        if kind in CONTAINERS:
            yield from _walk(body)


def _mvhd_duration(body: bytes) -> float:
    if body[0] == 1:
        timescale, duration = struct.unpack(">IQ", body[20:32])
    else:
        timescale, duration = struct.unpack(">II", body[12:20])
    return float(duration) / timescale if timescale else 0.0


def _track(trak: bytes) -> _Track:
    track = _Track()
    for kind, body in _walk(trak):
        if kind == b"tkhd" and len(body) >= 8:
            width, height = struct.unpack(">II", body[-8:])
            track.width, track.height = width >> 16, height >> 16
        elif kind == b"hdlr" and len(body) >= 12:
            track.handler = body[8:12]
        elif kind == b"stsd" and len(body) >= 16:
            fourcc = body[12:16]
            track.codec = CODECS.get(fourcc, fourcc.decode("latin-1").strip())
    return track
