"""Archive writers: every entry and the archive itself checksummed in one forward pass."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import threading
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.zip import archive as archive_module
from jobs.zip.archive import (
    ArchiveError,
    BackgroundSHA256,
    HelperThread,
    open_archive,
    sha256_file,
    should_compress,
)
from tests.jobs.zip.zip_records import NotZip64, local_entry, zip64_end

WHEN = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def chunked(data: bytes, size: int = 1000):
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_entries_and_the_archive_are_checksummed_while_written(tmp_path: Path, fmt):
    big = os.urandom(5 * 1024 * 1024 + 17)  # past BACKGROUND_HASH_MIN_BYTES: hashed in a thread
    path = tmp_path / "out"
    with open_archive(path, fmt, mtime=WHEN) as archive:
        archive.add_bytes("notes/readme.md", "héllo\n".encode(), mime_type="text/markdown")
        archive.add_stream("media/clip.mp4", chunked(big), size=len(big), mime_type="video/mp4")
        archive.add_stream(
            "media/unknown.bin",
            iter([b"ab", b"cd"]),
            size=None,
            mime_type="application/octet-stream",
        )
        src = tmp_path / "src.pdf"
        src.write_bytes(b"%PDF-1.4 tiny")
        archive.add_file("brief.pdf", src, mime_type="application/pdf")

    assert archive.sha256 == sha256_file(path)
    assert archive.bytes_written == path.stat().st_size
    expected = {
        "notes/readme.md": "héllo\n".encode(),
        "media/clip.mp4": big,
        "media/unknown.bin": b"abcd",
        "brief.pdf": b"%PDF-1.4 tiny",
    }
    assert [e.path for e in archive.entries] == list(expected)
    for entry in archive.entries:
        assert entry.size == len(expected[entry.path])
        assert entry.sha256 == hashlib.sha256(expected[entry.path]).hexdigest()
    assert read_back(path, fmt) == expected


def read_back(path: Path, fmt: str) -> dict[str, bytes]:
    if fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            return {i.filename: zf.read(i) for i in zf.infolist()}
    with tarfile.open(path, "r:gz") as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers()}


def test_zip_entries_carry_zlibs_crc32_though_isal_computes_it(tmp_path: Path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / "out.zip"
    with open_archive(path, "zip", mtime=WHEN) as archive:
        archive.add_stream("clip.mp4", chunked(data, 65536), size=len(data), mime_type="video/mp4")
        archive.add_bytes("a.md", b"# a\n" * 500, mime_type="text/markdown")
    with zipfile.ZipFile(path) as zf:  # the CRCs as written in the central directory
        assert zlib.crc32(data) == zf.getinfo("clip.mp4").CRC
        assert zlib.crc32(b"# a\n" * 500) == zf.getinfo("a.md").CRC


def test_zip_stores_media_deflates_text_and_uses_zip64_for_streams(tmp_path: Path):
    path = tmp_path / "out.zip"
    with open_archive(path, "zip", mtime=WHEN) as archive:
        archive.add_bytes("a.json", b"{}" * 1000, mime_type="application/json")
        archive.add_stream("b.png", iter([b"x" * 100]), size=None, mime_type="image/png")
    with zipfile.ZipFile(path) as zf:
        a, b = zf.getinfo("a.json"), zf.getinfo("b.png")
    assert a.compress_type == zipfile.ZIP_DEFLATED and a.compress_size < a.file_size
    assert b.compress_type == zipfile.ZIP_STORED
    assert a.date_time == (2026, 11, 25, 10, 30, 0)
    assert (a.external_attr >> 16) & 0o777 == 0o644


def test_a_streamed_entry_carries_zip64_sizes_so_it_may_pass_4_gib(tmp_path: Path):
    path = tmp_path / "out.zip"
    with open_archive(path, "zip", mtime=WHEN) as archive:
        archive.add_stream("b.png", iter([b"x" * 100, b"y" * 50]), size=None, mime_type="image/png")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        entry = local_entry(data, zf.getinfo("b.png"))
    assert entry.zip64_extra
    assert entry.descriptor_sizes == (150, 150)


def test_an_archive_past_the_zip64_limit_ends_with_zip64_end_records(tmp_path, monkeypatch):
    # 4 GiB of test data is too slow; lowering zipfile's limit crosses it at 64 KiB instead.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 64 * 1024)
    path = tmp_path / "out.zip"
    with open_archive(path, "zip", mtime=WHEN) as archive:
        for n in range(3):
            archive.add_bytes(f"{n}.bin", os.urandom(40_000), mime_type="video/mp4")
        archive.add_stream("s.bin", chunked(os.urandom(40_000)), size=None, mime_type="video/mp4")
    data = path.read_bytes()
    end = zip64_end(data)
    assert end.entries == 4
    assert data[end.directory_offset : end.directory_offset + 4] == b"PK\x01\x02"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None


def test_the_zip64_reader_refuses_a_plain_zip(tmp_path: Path):
    path = tmp_path / "plain.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", b"plain")
        with zf.open("b.txt", "w") as out:
            out.write(b"also plain")
    data = path.read_bytes()
    with pytest.raises(NotZip64, match="no ZIP64 end-of-central-directory locator"):
        zip64_end(data)
    with zipfile.ZipFile(path) as zf, pytest.raises(NotZip64, match="no data descriptor"):
        local_entry(data, zf.getinfo("a.txt"))


@pytest.mark.parametrize(
    ("mime", "compress"),
    [
        ("text/markdown", True),
        ("application/json", True),
        ("text/csv; charset=utf-8", True),
        ("application/ld+json", True),
        ("image/svg+xml", True),
        ("image/png", False),
        ("video/mp4", False),
        ("audio/mpeg", False),
        ("application/zip", False),
        ("application/pdf", False),
        ("application/octet-stream", False),
    ],
)
def test_what_is_compressed(mime, compress):
    assert should_compress(mime) is compress


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
@pytest.mark.parametrize("sent", [b"short", b"much too long!"])
def test_an_entry_that_differs_from_its_announced_size_is_an_error(tmp_path: Path, fmt, sent):
    with (
        pytest.raises((ArchiveError, OSError)),
        open_archive(tmp_path / "out", fmt, mtime=WHEN) as archive,
    ):
        archive.add_stream("x.bin", iter([sent]), size=8, mime_type="video/mp4")
    assert helper_threads() == []


def test_a_failure_midway_leaves_no_helper_threads(tmp_path: Path):
    def broken():
        yield b"x" * 1024
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError), open_archive(tmp_path / "o.zip", "zip", mtime=WHEN) as a:
        a.add_stream("x.bin", broken(), size=None, mime_type="video/mp4")
    assert helper_threads() == []


def helper_threads() -> list[threading.Thread]:
    return [
        t for t in threading.enumerate() if t.name in ("sha256", "archive-writer") and t.is_alive()
    ]


def test_unknown_formats_are_refused(tmp_path: Path):
    with (
        pytest.raises(ArchiveError, match=r"use zip or tar\.gz"),
        open_archive(
            tmp_path / "o",
            "rar",
            mtime=WHEN,  # type: ignore[arg-type]
        ),
    ):
        pass


def test_background_sha256_matches_hashlib():
    data = os.urandom(3 * 1024 * 1024)
    digest = BackgroundSHA256()
    for chunk in chunked(data, 65536):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    digest.update(b"late")  # ignored once closed, never blocks
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_tar_spools_entries_of_unknown_size_in_the_work_folder(tmp_path: Path, monkeypatch):
    seen: list[str] = []
    real = archive_module.tempfile.TemporaryFile

    def spy(*args, **kwargs):
        seen.append(str(kwargs.get("dir")))
        return real(*args, **kwargs)

    monkeypatch.setattr(archive_module.tempfile, "TemporaryFile", spy)
    with open_archive(tmp_path / "o.tar.gz", "tar.gz", mtime=WHEN) as archive:
        archive.add_stream("x.bin", iter([b"abc"]), size=None, mime_type="video/mp4")
    assert seen == [str(tmp_path)]
    assert read_back(tmp_path / "o.tar.gz", "tar.gz") == {"x.bin": b"abc"}


def test_a_disk_error_in_the_writer_thread_reaches_the_job():
    def full_disk(chunk: bytes) -> None:
        raise OSError(28, "No space left on device")

    helper = HelperThread(full_disk, "archive-writer")
    helper.put(b"x")
    with pytest.raises(OSError, match="No space left"):
        for _ in range(100):
            helper.put(b"x")
        helper.close()
    helper.abandon()
    assert helper_threads() == []


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed")
def test_info_zip_unzip_accepts_the_streamed_zip64(tmp_path: Path):
    path = tmp_path / "out.zip"
    with open_archive(path, "zip", mtime=WHEN) as archive:
        archive.add_bytes("ünïcode/notes.md", b"# hi\n" * 100, mime_type="text/markdown")
        archive.add_stream(
            "media/clip.mp4", chunked(os.urandom(300_000)), size=None, mime_type="video/mp4"
        )
    done = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No errors detected" in done.stdout
