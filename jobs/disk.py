"""Temporary disk: whether an export fits before it starts, and a full disk said plainly.

Every export kind estimates what it will write in its work folder under EXPORT_TEMP_DIR
(the sources it downloads plus its output) and calls `ensure_room` before the first
byte, so a small disk fails a job in a second with a sentence naming EXPORT_TEMP_DIR, the
free space and the need, instead of after an hour with a half-written file. A disk that
fills anyway (other jobs, an estimate too low) raises `ENOSPC`; `is_disk_full` lets the
runner say "the temp disk is full" rather than "internal error".
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from pathlib import Path

from jobs.errors import ExportError

#: What any export writes besides its sources and output: JSON, Markdown, templates' CSS.
OVERHEAD_BYTES = 16 * 1024 * 1024


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the file system holding `path`."""
    return shutil.disk_usage(path).free


def human_bytes(size: float) -> str:
    """`6.1 GB`, `5 GB`, `812 KB`: binary multiples, one decimal when it says something."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            break
        size /= 1024
    if unit == "bytes":
        return f"{int(size):,} bytes"
    text = f"{size:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def ensure_room(what: str, *, needed: int, free: int, reserve: int) -> None:
    """Raise `ExportError` unless `needed` bytes fit in `free` with `reserve` left over.

    `what` names the export ("the bundle", "the PDF brief", "the video").
    """
    if free - needed >= reserve:
        return
    raise ExportError(
        f"{what} needs about {human_bytes(needed)} of temporary disk but EXPORT_TEMP_DIR "
        f"has {human_bytes(free)} free, and EXPORT_MIN_FREE_TEMP_BYTES "
        f"({human_bytes(reserve)}) must stay free; free some space or point "
        "EXPORT_TEMP_DIR at a larger disk; nothing was uploaded"
    )


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is the disk running out of space."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_sentence(stage: str | None, workdir: Path | None) -> str:
    """What a job that hit `ENOSPC` reports (with the space free now, when known)."""
    free = ""
    if workdir is not None:
        with contextlib.suppress(OSError):
            free = f" ({human_bytes(free_disk_bytes(workdir.parent))} free now)"
    return (
        f"the temp disk is full: EXPORT_TEMP_DIR ran out of space while "
        f"{stage or 'starting'}{free}; nothing was uploaded; free some space or point "
        "EXPORT_TEMP_DIR at a larger disk"
    )
