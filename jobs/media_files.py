"""Downloading media files from the CMS into a job's work folder, streamed and checked."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from cms_client import CMSError, Media
from cms_client.fetch import DownloadResult, copy_to, iter_checked
from jobs.context import ExportContext
from jobs.errors import ExportError
from jobs.paths import safe_component


def download_media(ctx: ExportContext, media: Media, folder: Path) -> tuple[Path, DownloadResult]:
    """Stream one media item's file to `folder`; its size must match what Payload reports."""
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
    try:
        with ctx.cms.stream(media.url) as response, target.open("wb") as out:
            chunks = iter_checked(
                response, url=response.url, max_bytes=max_bytes, expected_size=size
            )
            result = copy_to(chunks, out)
    except CMSError as exc:
        raise ExportError(f"could not download {media.label}: {exc}; nothing was uploaded") from exc
    return target, result
