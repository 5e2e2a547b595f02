"""Reading a project and what belongs to it from Payload, as the exports need it.

The records come from `cms_client` (read at depth 0, relations as ids, rich-text uploads
scoped to the project's own media); this module only supplies the job's client and ids.
"""

from __future__ import annotations

from cms_client import Project, Script, read_project, read_scripts
from jobs.context import ExportContext


def fetch_project(ctx: ExportContext) -> Project:
    """The job's project with its cover and media."""
    return read_project(ctx.cms, ctx.project_id, collections=ctx.settings.collections)


def fetch_scripts(ctx: ExportContext, project: Project) -> list[Script]:
    """Every script/story artifact linked to the project, in their `order`."""
    return read_scripts(ctx.cms, project, collections=ctx.settings.collections)
