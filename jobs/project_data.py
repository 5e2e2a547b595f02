"""Reading a project and what belongs to it from Payload, as the exports need it.

The records come from `cms_client` (read at depth 0, relations as ids, rich-text uploads
scoped to the project's own media). `load(ctx)` reads them once per job: the fingerprint
(`jobs.fingerprint`) and the build share what it read, so nothing is asked of Payload twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from cms_client import Media, Project, Script, read_project, read_scripts
from jobs.context import ExportContext

_KEY = "project-data"


@dataclass(frozen=True)
class ProjectData:
    """A project with its media, and its scripts in `order`."""

    project: Project
    scripts: list[Script]

    @property
    def media(self) -> tuple[Media, ...]:
        return self.project.own_media()


def load(ctx: ExportContext) -> ProjectData:
    """The project and its scripts, read once per job."""
    cached = ctx.fetched.get(_KEY)
    if isinstance(cached, ProjectData):
        return cached
    project = fetch_project(ctx)
    data = ProjectData(project, fetch_scripts(ctx, project))
    ctx.fetched[_KEY] = data
    return data


def fetch_project(ctx: ExportContext) -> Project:
    """The job's project with its cover and media."""
    return read_project(ctx.cms, ctx.project_id, collections=ctx.settings.collections)


def fetch_scripts(ctx: ExportContext, project: Project) -> list[Script]:
    """Every script/story artifact linked to the project, in their `order`."""
    return read_scripts(ctx.cms, project, collections=ctx.settings.collections)
