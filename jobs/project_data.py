"""Reading a project and what belongs to it from Payload, as the exports need it.

`load(ctx)` reads the project (depth 1: its cover and media populated in the same
answer) and its scripts concurrently, once per job: the fingerprint (`jobs.fingerprint`)
and the build share what it read, so nothing is asked of Payload twice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cms_client import Doc
from jobs.context import ExportContext

_KEY = "project-data"


@dataclass(frozen=True)
class ProjectData:
    """A project (depth 1), its scripts in `order`, and its media, once each."""

    project: Doc
    scripts: list[Doc]
    media: list[Doc]


def load(ctx: ExportContext) -> ProjectData:
    """The project and its scripts, read once per job (two requests, in parallel)."""
    cached = ctx.fetched.get(_KEY)
    if isinstance(cached, ProjectData):
        return cached
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fetch") as pool:
        scripts = pool.submit(fetch_scripts, ctx)
        project = fetch_project(ctx, depth=1)
        data = ProjectData(project, scripts.result(), project_media(project))
    ctx.fetched[_KEY] = data
    return data


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
