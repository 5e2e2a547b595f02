"""Downloading media files from the CMS into a job's work folder, streamed and checked
(and kept for the next job on this host: `jobs.media_cache`)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from cms_client import CMSError, Media
from cms_client.fetch import copy_to, iter_checked
from jobs import media_cache
from jobs.context import ExportContext
from jobs.errors import ExportError
from jobs.paths import safe_component


def download_media(ctx: ExportContext, media: Media, folder: Path) -> Path:
    """One media item's file in `folder`; its size must match what Payload reports."""
    if not media.url:
        raise ExportError(f"{media.label} has no file URL in Payload")
    max_bytes = ctx.settings.limits.max_file_bytes
    size = media.filesize
    if size is not None and size > max_bytes:
        raise ExportError(
            f"{media.label} is {size:,} bytes, over EXPORT_MAX_FILE_BYTES ({max_bytes:,})"
        )
    folder.mkdir(parents=True, exist_ok=True)
    extension = mimetypes.guess_extension(media.mime_type or "") or ""
    target = folder / safe_component(f"{media.id}{extension}")
    url = media.url
    return media_cache.fetch(
        ctx, media, target, lambda path: _stream_to(ctx, media, url, max_bytes, path)
    )


def _stream_to(ctx: ExportContext, media: Media, url: str, max_bytes: int, path: Path) -> None:
    try:
        with ctx.cms.stream(url) as response, path.open("wb") as out:
            chunks = iter_checked(
                response, url=response.url, max_bytes=max_bytes, expected_size=media.filesize
            )
            copy_to(chunks, out)
    except CMSError as exc:
        raise ExportError(f"could not download {media.label}: {exc}; nothing was uploaded") from exc
