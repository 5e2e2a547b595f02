"""Media files kept between jobs on this host, so an unchanged file is not downloaded again.

    path = media_cache.fetch(ctx, media, folder, download)

A job's own folder is deleted when it ends; this cache, `media-cache/` under
EXPORT_TEMP_DIR, keeps the files of media documents under a name made from what Payload
says identifies their content: the Payload URL, the collection, the id, the filename, the
size and `updatedAt` (a new upload to the same document changes `updatedAt`, so the key).
A document without `updatedAt` or size is never cached. A file arrives in the job's
folder as a hard link (a copy where links are not possible), so the job may delete its
folder as before. Files are written under a temporary name and renamed in, since every
worker on the host shares the folder, and the least recently used go once it holds more
than EXPORT_MEDIA_CACHE_BYTES (0: no cache). A file larger than a tenth of that is not
kept. What is cached was downloaded through the same checks as any download (allowed
origins, declared size), and a job is only ever handed media it read itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from cms_client import Media
from jobs.context import ExportContext

logger = logging.getLogger(__name__)

FOLDER = "media-cache"
#: The largest file kept, as a share of the cache's size.
MAX_FILE_SHARE = 0.1

Download = Callable[[Path], None]


def fetch(ctx: ExportContext, media: Media, target: Path, download: Download) -> Path:
    """`target` holding the media's file: from the cache, or `download(path)` into it."""
    limit = ctx.settings.limits.media_cache_bytes
    key = key_of(ctx, media)
    if key is None or limit == 0 or (media.filesize or 0) > limit * MAX_FILE_SHARE:
        download(target)
        return target
    folder = Path(ctx.settings.temp_dir or tempfile.gettempdir()) / FOLDER
    cached = folder / key
    if _hand_out(cached, target):
        return target
    folder.mkdir(mode=0o700, exist_ok=True)
    partial = folder / f".{key}.{uuid.uuid4().hex}.part"
    try:
        download(partial)
        partial.chmod(0o444)  # shared by every job that links it: never written again
        os.replace(partial, cached)
    finally:
        partial.unlink(missing_ok=True)
    if not _hand_out(cached, target):  # dropped by another worker in between
        download(target)
    _evict(folder, limit)
    return target


def key_of(ctx: ExportContext, media: Media) -> str | None:
    """The cache's name for this media document's current file, if it can have one."""
    if media.updated_at is None or media.filesize is None:
        return None
    identity = [
        ctx.cms.base_url,
        ctx.settings.collections.media,
        str(media.id),
        media.filename,
        media.filesize,
        media.updated_at,
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _hand_out(cached: Path, target: Path) -> bool:
    """Link (or copy) the cached file to `target`; False if it is not cached."""
    try:
        os.utime(cached)  # recently used
    except FileNotFoundError:
        return False
    target.unlink(missing_ok=True)  # the same media twice in one job: link it again
    try:
        os.link(cached, target)
    except FileNotFoundError:
        return False
    except OSError:  # another file system, or links not allowed
        try:
            shutil.copyfile(cached, target)
        except FileNotFoundError:
            return False
    return True


def _evict(folder: Path, limit: int) -> None:
    """Delete the least recently used files until the folder holds at most `limit` bytes."""
    entries = []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size
