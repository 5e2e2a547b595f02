"""Reading a project and what belongs to it from Payload, as the exports need it.

The records come from `cms_client` (read at depth 0, relations as ids, rich-text uploads
scoped to the project's own media), in the locale and version the job's options ask for
(`jobs.content`). `load(ctx)` reads them once per job: the fingerprint (`jobs.fingerprint`)
and the build share what it read, so nothing is asked of Payload twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from cms_client import Media, Project, Script, read_project, read_scripts
from jobs.content import reading_of
from jobs.context import ExportContext

_KEY = "project-data"
#: The note when `draft: true` meets a collection without drafts (never an error).
NO_DRAFTS_STAGE = "{collection} has no drafts: exporting the saved version"


@dataclass(frozen=True)
class ProjectData:
    """A project with its media, and its scripts in `order`."""

    project: Project
    scripts: list[Script]

    @property
    def media(self) -> tuple[Media, ...]:
        return self.project.own_media()

    @property
    def is_draft(self) -> bool:
        return is_draft(self.project, self.scripts)


def load(ctx: ExportContext) -> ProjectData:
    """The project and its scripts, read once per job."""
    cached = ctx.fetched.get(_KEY)
    if isinstance(cached, ProjectData):
        return cached
    project = fetch_project(ctx)
    data = ProjectData(project, fetch_scripts(ctx, project))
    ctx.fetched[_KEY] = data
    return data


def fetch_project(ctx: ExportContext, *, locale: str | None = None) -> Project:
    """The job's project with its cover and media, in the job's locale and version.

    `locale` reads it in that locale instead of the job's (a bundle of every locale).
    """
    reading = reading_of(ctx.job.params, locale=locale)
    collections = ctx.settings.collections
    project = read_project(ctx.cms, ctx.project_id, collections=collections, reading=reading)
    if reading.draft and project.status is None:
        ctx.progress.note(NO_DRAFTS_STAGE.format(collection=collections.projects), 6)
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
