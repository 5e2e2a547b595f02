"""What xhtml2pdf does with the brief's font files on every render, done once per process.

The brief declares 11 `@font-face`s (11 MB of TrueType). On every document xhtml2pdf
reads each file whole, twice (once to see that it exists, once before registering it),
and MD5s it to tell two files with one family name apart. The files do not change
between renders, so

* `remember_font_digests()` keeps each file's digest, and
* `remember_font_files()` keeps each file's bytes,

both keyed by path, size and mtime, so a file that changes is read again. The warm
worker (`jobs.preload`) fills both before it forks, so a work horse neither reads nor
hashes a font: reading them had cost a work horse ~15 ms and ~1,300 page faults per
brief, as every read wrote into memory it shared with its parent.

Only font files (`FONT_SUFFIXES`) are kept, and only once xhtml2pdf's resource policy
has let the read through: the policy still decides, on every render, what may be read.
"""

from __future__ import annotations

import builtins
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

FONT_SUFFIXES = frozenset({".ttf", ".ttc", ".otf"})


def _stat_key(name: str | os.PathLike[str] | None) -> tuple[str, int, int] | None:
    """(path, size, mtime) of a file, or None when there is none to stat."""
    if name is None:
        return None
    try:
        stat = os.stat(name)
    except OSError:
        return None
    return os.fspath(name), stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=1)
def remember_font_digests() -> None:
    """Hash each font file once per process, not once per render (~20 ms a brief)."""
    from xhtml2pdf import context as pisa_context

    digest_of = pisa_context._file_digest

    @lru_cache(maxsize=256)
    def digest_by_stat(name: str, size: int, mtime_ns: int) -> str | None:
        return digest_of(name)  # type: ignore[no-any-return]

    def file_digest(name: str | None) -> str | None:
        key = _stat_key(name)
        return digest_of(name) if key is None else digest_by_stat(*key)

    pisa_context._file_digest = file_digest


@lru_cache(maxsize=1)
def remember_font_files() -> None:
    """Read each font file once per process, not twice per render."""
    from xhtml2pdf import files

    @lru_cache(maxsize=64)
    def read(name: str, size: int, mtime_ns: int) -> bytes:
        return Path(name).read_bytes()

    def open_file(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        key = (
            _stat_key(file) if mode == "rb" and Path(file).suffix.lower() in FONT_SUFFIXES else None
        )
        if key is None:
            return builtins.open(file, mode, *args, **kwargs)
        return _Read(read(*key))

    # xhtml2pdf.files reads a local file with `open(path, "rb")`, after its policy checks.
    files.open = open_file


class _Read:
    """An open file whose `read()` is bytes already in memory (not a copy of them)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __enter__(self) -> _Read:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return self._data
