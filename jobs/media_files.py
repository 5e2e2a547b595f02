"""Downloading media files from the CMS into a job's work folder, streamed and checked."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from cms_client import CMSError
from cms_client.client import Doc
from cms_client.fetch import DownloadResult, copy_to, iter_checked
from jobs.context import ExportContext, ExportError
from jobs.paths import safe_component


def media_label(media: Doc) -> str:
    return f"media {media.get('id')} ({media.get('filename') or 'no filename'})"


def download_media(ctx: ExportContext, media: Doc, folder: Path) -> tuple[Path, DownloadResult]:
    """Stream one media item's file to `folder`; its size must match what Payload reports."""
    url = media.get("url")
    if not isinstance(url, str) or not url:
        raise ExportError(f"{media_label(media)} has no file URL in Payload")
    max_bytes = ctx.settings.limits.max_file_bytes
    size = media.get("filesize")
    if isinstance(size, int) and size > max_bytes:
        raise ExportError(
            f"{media_label(media)} is {size:,} bytes, over EXPORT_MAX_FILE_BYTES ({max_bytes:,})"
        )
    folder.mkdir(parents=True, exist_ok=True)
    extension = mimetypes.guess_extension(str(media.get("mimeType") or "")) or ""
    target = folder / safe_component(f"{media.get('id')}{extension}")
    try:
        with ctx.cms.stream(url) as response, target.open("wb") as out:
            chunks = iter_checked(
                response,
                url=response.url,
                max_bytes=max_bytes,
                expected_size=size if isinstance(size, int) else None,
            )
            result = copy_to(chunks, out)
    except CMSError as exc:
        raise ExportError(
            f"could not download {media_label(media)}: {exc}; nothing was uploaded"
        ) from exc
    return target, result
