"""Reading a project and what belongs to it from Payload, as the exports need it."""

from __future__ import annotations

from typing import Any

from cms_client import Doc
from jobs.context import ExportContext


def fetch_project(ctx: ExportContext, *, depth: int = 1) -> Doc:
    return ctx.cms.get(ctx.settings.collections.projects, ctx.project_id, depth=depth)


def fetch_scripts(ctx: ExportContext) -> list[Doc]:
    """Every script/story artifact linked to the project, in their `order`."""
    return list(
        ctx.cms.find_all(
            ctx.settings.collections.scripts,
            where={"project": {"equals": ctx.project_id}},
            sort="order",
            depth=0,
        )
    )


def project_media(project: Doc) -> list[Doc]:
    """The cover image and the `media` items of a project fetched at depth >= 1, once each."""
    found: dict[Any, Doc] = {}
    candidates = [project.get("coverImage"), *(project.get("media") or [])]
    for item in candidates:
        if isinstance(item, dict) and "id" in item:
            found.setdefault(item["id"], item)
    return list(found.values())
