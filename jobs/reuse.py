"""Earlier results of the same project, found by fingerprint (`jobs.fingerprint`).

After an export is uploaded, `remember` files its Media id in Redis under the project
and the fingerprint (`export:result:<projectId>:<fingerprint>`, kept for
EXPORT_JOB_TTL_S). A later job with the same fingerprint asks `find`, which checks with
Payload that the Media still exists, still belongs to this project and carries this
fingerprint before it is reused: a deleted or re-linked file is rendered again, and the
project id in the key means no result ever crosses projects.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cms_client import CMSForbidden, CMSNotFound, Doc
from jobs.context import ExportContext

logger = logging.getLogger(__name__)

KEY_PREFIX = "export:result:"


def key_of(project_id: int | str, fingerprint: str) -> str:
    return f"{KEY_PREFIX}{project_id}:{fingerprint}"


def find(ctx: ExportContext, fingerprint: str) -> Doc | None:
    """The Media of an earlier successful export with this fingerprint, if still valid."""
    redis = ctx.progress.runtime.redis
    key = key_of(ctx.project_id, fingerprint)
    raw = redis.get(key)
    if raw is None:
        return None
    media_id = json.loads(raw).get("mediaId")
    try:
        media = ctx.cms.get(ctx.settings.collections.media, media_id, depth=0)
    except (CMSNotFound, CMSForbidden):
        media = None
    if media is None or not _belongs(media, ctx.project_id, fingerprint):
        logger.info("job %s: earlier result media %s is gone or changed", ctx.job.job_id, media_id)
        redis.delete(key)
        return None
    return media


def remember(ctx: ExportContext, fingerprint: str, media: Doc) -> None:
    """File a new result so that the next identical request can reuse it."""
    value = {"mediaId": media.get("id"), "jobId": ctx.job.job_id}
    ttl_s = ctx.settings.job_ttl_s
    ctx.progress.runtime.redis.set(key_of(ctx.project_id, fingerprint), json.dumps(value), ex=ttl_s)


def _belongs(media: Doc, project_id: int | str, fingerprint: str) -> bool:
    meta = media.get("exportMeta")
    recorded = meta.get("fingerprint") if isinstance(meta, dict) else None
    return str(_id_of(media.get("exportOf"))) == str(project_id) and recorded == fingerprint


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value
