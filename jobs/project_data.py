"""Reading a project and what belongs to it from Payload, as the exports need it.

The records come from `cms_client` (read at depth 0, relations as ids, rich-text uploads
scoped to the project's own media); this module supplies the job's client, ids and the
locale and version its options ask for (`jobs.content`).
"""

from __future__ import annotations

from cms_client import Project, Script, read_project, read_scripts
from jobs.content import reading_of
from jobs.context import ExportContext

#: The stage shown when `draft: true` meets a collection without drafts (never an error).
NO_DRAFTS_STAGE = "{collection} has no drafts: exporting the saved version"


def fetch_project(ctx: ExportContext) -> Project:
    """The job's project with its cover and media, in the job's locale and version."""
    reading = reading_of(ctx.job.params)
    collections = ctx.settings.collections
    project = read_project(ctx.cms, ctx.project_id, collections=collections, reading=reading)
    if reading.draft and project.status is None:
        ctx.progress.report(NO_DRAFTS_STAGE.format(collection=collections.projects), 6)
    return project


def fetch_scripts(
    ctx: ExportContext, project: Project, *, locale: str | None = None
) -> list[Script]:
    """Every script/story artifact linked to the project, in their `order`.

    `locale` reads them in that locale instead of the job's (a bundle of every locale).
    """
    reading = reading_of(ctx.job.params, locale=locale)
    return read_scripts(ctx.cms, project, collections=ctx.settings.collections, reading=reading)


def is_draft(project: Project, scripts: list[Script]) -> bool:
    """Whether what was read includes an unpublished draft (the brief then says so)."""
    return project.status == "draft" or any(script.status == "draft" for script in scripts)
