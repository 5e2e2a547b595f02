"""Reading a project and what belongs to it from Payload, as the exports need it.

The records come from `cms_client` (read at depth 0, relations as ids, rich-text uploads
scoped to the project's own media), in the locale and version the job's options ask for
(`jobs.content`). `load(ctx)` reads them once per job: the fingerprint (`jobs.fingerprint`)
and the build share what it read, so nothing is asked of Payload twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from cms_client import Media, Project, Script, read_project, read_project_and_scripts
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
    data = fetch_project_data(ctx)
    ctx.fetched[_KEY] = data
    return data


def fetch_project_data(ctx: ExportContext, *, locale: str | None = None) -> ProjectData:
    """The job's project with its cover and media, and every script/story artifact linked
    to it in their `order`, in the job's locale and version (the scripts are read beside
    the project: a round trip less).

    `locale` reads them in that locale instead of the job's (a bundle of every locale).
    """
    reading = reading_of(ctx.job.params, locale=locale)
    project, scripts = read_project_and_scripts(
        ctx.cms, ctx.project_id, collections=ctx.settings.collections, reading=reading
    )
    _note_if_no_drafts(ctx, project, draft=reading.draft)
    return ProjectData(project, scripts)


def fetch_project(ctx: ExportContext) -> Project:
    """The job's project with its cover and media, in the job's locale and version."""
    reading = reading_of(ctx.job.params)
    collections = ctx.settings.collections
    project = read_project(ctx.cms, ctx.project_id, collections=collections, reading=reading)
    _note_if_no_drafts(ctx, project, draft=reading.draft)
    return project


def _note_if_no_drafts(ctx: ExportContext, project: Project, *, draft: bool) -> None:
    if draft and project.status is None:
        ctx.progress.note(NO_DRAFTS_STAGE.format(collection=ctx.settings.collections.projects), 6)


def is_draft(project: Project, scripts: list[Script]) -> bool:
    """Whether what was read includes an unpublished draft (the brief then says so)."""
    return project.status == "draft" or any(script.status == "draft" for script in scripts)
