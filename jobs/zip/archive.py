"""Streaming ZIP64 and tar.gz writers that checksum every entry and the archive itself.

    with open_archive(path, "zip", mtime=exported_at) as archive:
        archive.add_bytes("project.json", data, mime_type="application/json")
        archive.add_stream("media/cover.png", chunks, size=1234, mime_type="image/png")
    archive.sha256, archive.bytes_written, archive.entries

Nothing is ever whole in memory: entries arrive as an iterator of chunks and leave
for the file as they come. The archive is written in one forward pass (ZIP with data
descriptors, tar through a gzip stream), so its own SHA-256 is computed while it is
written, never by reading it back.

- **zip**: ZIP64 on every streamed entry (so entries and archives over 4 GiB work);
  media that is already compressed (images, audio, video, archives, PDF) is stored,
  text is deflated (deflate is ~45× slower than storing, and gains nothing on media).
- **tar.gz**: POSIX PAX tar (Unicode names, any size) through one gzip stream; the
  caller picks the level (1 when media dominate, 6 for text).

Every media byte is hashed twice (its entry, the archive), and SHA-256 runs at about the
speed of a loopback download, so the work is spread over three threads fed through small
bounded queues (`HelperThread`), the two hashes on different cores: the job's thread
downloads and lets zipfile CRC each chunk (with ISA-L's CRC-32, ~6× zlib's), one helper
hashes the entry, and one writes the archive to disk and hashes it. hashlib, the CRC and
file writes release the GIL, so the threads run side by side while memory stays flat. A
disk error in a helper (a full disk) is raised in the job.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import queue
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from isal import isal_zlib

ArchiveFormat = Literal["zip", "tar.gz"]


class ArchiveError(Exception):
    """An entry did not match what was announced, or the format is unknown."""


#: Content type and file extension of each format.
FORMATS: dict[str, tuple[str, str]] = {
    "zip": ("application/zip", ".zip"),
    "tar.gz": ("application/gzip", ".tar.gz"),
}
#: Entries at least this large (or of unknown size) are hashed in a helper thread.
BACKGROUND_HASH_MIN_BYTES = 4 * 1024 * 1024
#: Chunks a helper thread may have queued before the writer waits for it (memory bound).
HASH_QUEUE_CHUNKS = 8
#: Read size when copying a local file or spooled entry into an archive.
COPY_CHUNK_BYTES = 1024 * 1024
FILE_MODE = 0o644

# zipfile checksums every entry with its module's `crc32` (zlib's, ~2.8 GB/s here: after the
# two SHA-256s, the largest CPU cost of a media bundle). ISA-L computes the same CRC-32 at
# ~18 GB/s; zipfile looks the name up on every write, as it does for its own fallback.
zipfile.crc32 = isal_zlib.crc32  # type: ignore[attr-defined]  # not in typeshed, still its seam

_COMPRESSIBLE_TYPES = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-ndjson",
    "application/x-subrip", "application/rtf", "application/x-yaml", "application/yaml",
    "image/svg+xml", "image/bmp", "image/x-ms-bmp", "audio/wav", "audio/x-wav",
})  # fmt: skip


def should_compress(mime_type: str) -> bool:
    """Deflate text and other raw formats; store media that is already compressed."""
    mime = mime_type.split(";", 1)[0].strip().lower()
    return (
        mime.startswith("text/") or mime in _COMPRESSIBLE_TYPES or mime.endswith(("+json", "+xml"))
    )


class Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class HelperThread:
    """Feeds chunks to `consume` in a helper thread, through a bounded queue.

    `put` only queues the (immutable) chunk, so the caller goes on receiving while
    the helper hashes or writes (hashlib and file writes release the GIL). An error
    in `consume` (a full disk) is kept, and raised by the next `put` or by `close`.
    """

    def __init__(self, consume: Callable[[bytes], object], name: str) -> None:
        self._consume = consume
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=HASH_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._consume(chunk)
                except BaseException as exc:  # handed to the producer by put/close
                    self._error = exc

    def put(self, data: bytes) -> None:
        self._raise_kept()
        if data and not self._closed:
            self._queue.put(bytes(data) if not isinstance(data, bytes) else data)

    def close(self) -> None:
        """Wait for every queued chunk; raise what `consume` raised, if anything."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        self._raise_kept()

    def abandon(self) -> None:
        """End the thread, ignoring its error: the work is being thrown away."""
        with contextlib.suppress(BaseException):
            self.close()

    def _raise_kept(self) -> None:
        if self._error is not None:
            raise self._error


class BackgroundSHA256:
    """A SHA-256 computed in a helper thread; `hexdigest` waits for it.

    Call `close` if the digest is abandoned, so the thread ends.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._helper = HelperThread(self._digest.update, "sha256")
        self._result: str | None = None

    def update(self, data: bytes, /) -> None:
        self._helper.put(data)

    def hexdigest(self) -> str:
        if self._result is None:
            self._helper.close()
            self._result = self._digest.hexdigest()
        return self._result

    def close(self) -> None:
        self._helper.abandon()


@contextmanager
def entry_hash(size: int | None) -> Iterator[Hash]:
    """An inline SHA-256 for small entries, a background one for large or unknown sizes."""
    if size is not None and size < BACKGROUND_HASH_MIN_BYTES:
        yield hashlib.sha256()
        return
    digest = BackgroundSHA256()
    try:
        yield digest
    finally:
        digest.close()


@dataclass(frozen=True)
class WrittenEntry:
    """One file in the archive, as the manifest describes it."""

    path: str
    size: int
    sha256: str
    mime_type: str
    compressed: bool


class _HashingSink:
    """A write-only file: it hashes and counts what passes, and cannot seek.

    Without `seek`, zipfile writes each entry's sizes and CRC after its data (data
    descriptors) instead of going back to patch the header, so every byte is written
    once, in order, and the hash of what passed is the hash of the file. One helper
    thread writes each chunk to disk and then hashes it, beside the download and the
    entry's own hash: one hand-off per chunk, not one for the disk and one for the hash.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._digest = hashlib.sha256()
        self._helper = HelperThread(self._write_and_hash, "archive-writer")
        self.bytes_written = 0
        self.discarding = False

    def _write_and_hash(self, data: bytes) -> None:
        self._out.write(data)
        self._digest.update(data)

    def write(self, data: bytes) -> int:
        if self.discarding:  # an abandoned archive: its trailer goes nowhere
            return len(data)
        self._helper.put(data)
        self.bytes_written += len(data)
        return len(data)

    def close(self) -> str:
        """Wait until every byte is on its way to disk; the archive's SHA-256."""
        self._helper.close()
        return self._digest.hexdigest()

    def discard(self) -> None:
        self.discarding = True
        self._helper.abandon()

    def tell(self) -> int:
        return self.bytes_written

    def flush(self) -> None:
        pass  # the helper writes as fast as the disk takes it; `close` waits


class ArchiveWriter:
    """What both formats offer; use `open_archive` to get one."""

    def __init__(self, sink: _HashingSink, mtime: datetime) -> None:
        self._sink = sink
        self.mtime = mtime
        self.entries: list[WrittenEntry] = []
        self.sha256 = ""

    @property
    def bytes_written(self) -> int:
        return self._sink.bytes_written

    def add_bytes(self, path: str, data: bytes, *, mime_type: str) -> WrittenEntry:
        """Add a small entry held in memory (JSON, Markdown, the manifest)."""
        return self.add_stream(path, [data], size=len(data), mime_type=mime_type)

    def add_file(self, path: str, source: Path, *, mime_type: str) -> WrittenEntry:
        """Add a local file, read in chunks."""
        with source.open("rb") as fileobj:
            chunks = iter(lambda: fileobj.read(COPY_CHUNK_BYTES), b"")
            return self.add_stream(path, chunks, size=source.stat().st_size, mime_type=mime_type)

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, size: int | None, mime_type: str
    ) -> WrittenEntry:
        """Add an entry from chunks; `size`, when known, must be exact."""
        entry = self._write(path, chunks, size, mime_type)
        self.entries.append(entry)
        return entry

    def _write(
        self, path: str, chunks: Iterable[bytes], size: int | None, mime_type: str
    ) -> WrittenEntry:
        raise NotImplementedError

    def finish(self) -> None:
        """Write the archive's trailer; `sha256` is then the archive's checksum."""
        raise NotImplementedError

    def abandon(self) -> None:
        """Stop helper threads after a failure; the file is left for the caller to delete."""
        self._sink.discard()


def _hashed(chunks: Iterable[bytes], digest: Hash, counter: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        counter[0] += len(chunk)
        yield chunk


class ZipWriter(ArchiveWriter):
    """ZIP64, stored or deflated per entry, written in one forward pass."""

    def __init__(self, sink: _HashingSink, mtime: datetime) -> None:
        super().__init__(sink, mtime)
        self._zip = zipfile.ZipFile(sink, "w", allowZip64=True)  # type: ignore[call-overload]

    def _write(
        self, path: str, chunks: Iterable[bytes], size: int | None, mime_type: str
    ) -> WrittenEntry:
        compress = should_compress(mime_type)
        info = zipfile.ZipInfo(path, date_time=_zip_time(self.mtime))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = FILE_MODE << 16
        info.file_size = size or 0  # zipfile decides on ZIP64 from it
        counter = [0]
        with entry_hash(size) as digest:
            with self._zip.open(info, "w", force_zip64=size is None) as out:
                for chunk in _hashed(chunks, digest, counter):
                    out.write(chunk)
            _check_size(path, size, counter[0])
            return WrittenEntry(path, counter[0], digest.hexdigest(), mime_type, compress)

    def finish(self) -> None:
        self._zip.close()
        self.sha256 = self._sink.close()

    def abandon(self) -> None:
        super().abandon()
        with contextlib.suppress(ValueError):  # an entry still open: nothing to close
            self._zip.close()


class TarGzWriter(ArchiveWriter):
    """A PAX tar through one gzip stream; entries of unknown size are spooled first."""

    def __init__(
        self, sink: _HashingSink, mtime: datetime, *, gzip_level: int, spool_dir: Path
    ) -> None:
        super().__init__(sink, mtime)
        self._gzip = gzip.GzipFile(
            filename="",
            mode="wb",
            fileobj=sink,
            compresslevel=gzip_level,
            mtime=int(mtime.timestamp()),
        )
        # Plain "w" on the gzip stream: tarfile writes forward only, in COPY_CHUNK_BYTES.
        self._tar = tarfile.TarFile(
            fileobj=self._gzip,
            mode="w",
            format=tarfile.PAX_FORMAT,
            copybufsize=COPY_CHUNK_BYTES,
        )
        self._spool_dir = spool_dir

    def _write(
        self, path: str, chunks: Iterable[bytes], size: int | None, mime_type: str
    ) -> WrittenEntry:
        if size is None:
            return self._write_spooled(path, chunks, mime_type)
        counter = [0]
        with entry_hash(size) as digest:
            reader = _ChunkReader(_hashed(chunks, digest, counter))
            self._tar.addfile(self._info(path, size), reader)
            reader.drain()
            _check_size(path, size, counter[0])
            return WrittenEntry(path, size, digest.hexdigest(), mime_type, True)

    def _write_spooled(self, path: str, chunks: Iterable[bytes], mime_type: str) -> WrittenEntry:
        # tar needs the size before the data; a download without one waits on disk.
        with tempfile.TemporaryFile(dir=self._spool_dir) as spool:
            size = 0
            for chunk in chunks:
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            copied = iter(lambda: spool.read(COPY_CHUNK_BYTES), b"")
            return self._write(path, copied, size, mime_type)

    def _info(self, path: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path)
        info.size = size
        info.mtime = int(self.mtime.timestamp())
        info.mode = FILE_MODE
        return info

    def finish(self) -> None:
        self._tar.close()
        self._gzip.close()
        self.sha256 = self._sink.close()


class _ChunkReader:
    """A file-like `read(n)` over an iterator of chunks, for tarfile's copy loop."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self.extra = 0

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._pull():
            pass
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _pull(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        self._buffer += chunk
        return True

    def drain(self) -> None:
        """Run the source to its end (so its own checks run) and count what tar left."""
        self.extra = len(self._buffer)
        for chunk in self._chunks:
            self.extra += len(chunk)


def _check_size(path: str, expected: int | None, written: int) -> None:
    if expected is not None and written != expected:
        raise ArchiveError(f"{path}: {written:,} bytes arrived where {expected:,} were announced")


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    utc = moment.astimezone(UTC)
    return (max(utc.year, 1980), utc.month, utc.day, utc.hour, utc.minute, utc.second)


@contextmanager
def open_archive(
    path: Path,
    archive_format: ArchiveFormat,
    *,
    mtime: datetime,
    gzip_level: int = 6,
) -> Iterator[ArchiveWriter]:
    """Write an archive at `path`; it is complete (and `sha256` set) when the block ends.

    On an exception the archive is left unfinished (the caller deletes it).
    """
    with path.open("wb") as out:
        sink = _HashingSink(out)
        writer = _writer_for(archive_format, sink, mtime, gzip_level, path.parent)
        try:
            yield writer
            writer.finish()
        finally:
            writer.abandon()


def _writer_for(
    archive_format: str, sink: _HashingSink, mtime: datetime, gzip_level: int, spool_dir: Path
) -> ArchiveWriter:
    if archive_format == "zip":
        return ZipWriter(sink, mtime)
    if archive_format == "tar.gz":
        return TarGzWriter(sink, mtime, gzip_level=gzip_level, spool_dir=spool_dir)
    sink.discard()
    raise ArchiveError(f"unknown archive format {archive_format!r}; use zip or tar.gz")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (never whole into memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fileobj:
        for chunk in iter(lambda: fileobj.read(COPY_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
