"""jobs.media_cache: an unchanged media file is downloaded once per host, not once per job;
a new upload to the document is downloaded again; the cache keeps to its size."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pypdf

from cms_client import Media
from jobs import media_cache
from tests.jobs.test_reuse import edit, export
from tests.payload_stub import PayloadStub, png_bytes


def downloads(payload: PayloadStub, filename: str) -> int:
    return sum(1 for call in payload.mock.calls if call.request.url.endswith(f"/file/{filename}"))


def cover_of(payload: PayloadStub) -> dict[str, Any]:
    return payload.collections["media"][payload.collections["projects"][17]["coverImage"]]


def images_in(payload: PayloadStub, job: dict[str, Any]) -> int:
    media = payload.collections["media"][job["resultMediaId"]]
    reader = pypdf.PdfReader(io.BytesIO(payload.files[media["filename"]]))
    return sum(len(page.images) for page in reader.pages)


def test_two_renders_of_a_project_download_its_unchanged_images_once(client, payload, worker):
    first = export(client, worker, options={"fresh": True})
    second = export(client, worker, options={"fresh": True})
    assert downloads(payload, cover_of(payload)["filename"]) == 1
    assert images_in(payload, second) == images_in(payload, first) > 0


def test_a_new_file_on_the_media_document_is_downloaded_again(client, payload, worker):
    export(client, worker, options={"fresh": True})
    cover = cover_of(payload)
    payload.files[cover["filename"]] = content = png_bytes(color="red")
    edit(payload, "media", cover, filesize=len(content))  # Payload moves updatedAt on upload
    export(client, worker, options={"fresh": True})
    assert downloads(payload, cover["filename"]) == 2


def context(tmp_path: Path, cache_bytes: int) -> Any:
    limits = SimpleNamespace(media_cache_bytes=cache_bytes)
    settings = SimpleNamespace(
        limits=limits, temp_dir=tmp_path, collections=SimpleNamespace(media="media")
    )
    return SimpleNamespace(settings=settings, cms=SimpleNamespace(base_url="http://payload.test"))


def media(media_id: int, size: int, updated_at: str | None = "2026-11-26T09:00:00.000Z") -> Media:
    return Media(id=media_id, filename=f"{media_id}.png", filesize=size, updated_at=updated_at)


def test_the_cache_keeps_to_its_size_dropping_the_least_recently_used(tmp_path):
    ctx = context(tmp_path, cache_bytes=10_000)
    calls: list[int] = []

    def fetch(item: Media) -> bytes:
        def download(path: Path) -> None:
            calls.append(int(item.id))
            path.write_bytes(bytes([int(item.id)]) * (item.filesize or 0))

        job_folder = tmp_path / f"job-{len(calls)}-{item.id}"
        job_folder.mkdir()
        return media_cache.fetch(ctx, item, job_folder / "file", download).read_bytes()

    for media_id in (1, 2, 3):
        assert fetch(media(media_id, 900)) == bytes([media_id]) * 900
    assert fetch(media(1, 900)) == bytes([1]) * 900  # a hit: 1 is now the most recent
    for media_id in range(4, 13):
        fetch(media(media_id, 900))
    cached = [p for p in (tmp_path / media_cache.FOLDER).iterdir()]
    assert sum(p.stat().st_size for p in cached) <= 10_000
    assert calls[:4] == [1, 2, 3, 4]  # the second 1 came from the cache
    fetch(media(2, 900))  # least recently used: gone, downloaded again
    assert calls[-1] == 2


def test_the_same_media_twice_in_one_folder_is_one_read_only_file(tmp_path):
    ctx = context(tmp_path, cache_bytes=10_000)
    calls = []

    def download(path: Path) -> None:
        calls.append(path)
        path.write_bytes(b"clip")

    first = media_cache.fetch(ctx, media(7, 4), tmp_path / "clip.mp4", download)
    again = media_cache.fetch(ctx, media(7, 4), tmp_path / "clip.mp4", download)
    assert first == again and again.read_bytes() == b"clip" and len(calls) == 1
    assert oct(again.stat().st_mode & 0o777) == "0o444"


def test_no_cache_without_updated_at_or_when_turned_off(tmp_path):
    calls = []

    def download(path: Path) -> None:
        calls.append(path)
        path.write_bytes(b"x")

    for ctx, item in [
        (context(tmp_path, cache_bytes=0), media(1, 1)),
        (context(tmp_path, cache_bytes=10_000), media(2, 1, updated_at=None)),
        (context(tmp_path, cache_bytes=10_000), media(3, 5_000)),  # over a tenth of it
    ]:
        for run in ("a", "b"):
            media_cache.fetch(ctx, item, tmp_path / f"{item.id}-{run}", download)
    assert len(calls) == 6
    assert not (tmp_path / media_cache.FOLDER).exists()
