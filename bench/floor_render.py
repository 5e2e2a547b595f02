"""The floor of a PDF job's render stage: the same brief rendered warm, in this process.

    floor = Floor(payload_url, service_auth, project_id, folder)
    floor.render(8)      # just before the jobs it is compared with
    ...
    floor.render(7)      # and just after
    floor.ms             # median of every counted render

The brief's inputs are read from the running Payload exactly as the job reads them
(`cms_client.read_project` / `read_scripts` at depth 0 with the service's key, the images
`jobs.pdf.export.images_shown` picks), once, and rendered once uncounted (the cold
render). Renders are counted in blocks so that they can be taken beside the jobs they
are compared with: this machine's speed drifts over minutes, and a floor measured at
another time compares the drift as much as the render.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from app.settings import Collections
from cms_client import Media, PayloadClient, read_project, read_scripts
from jobs.pdf.brief import BriefData, BriefOptions, render_brief
from jobs.pdf.export import images_shown
from jobs.project_data import is_draft


class Floor:
    """Warm in-process renders of the project's default brief."""

    def __init__(
        self, payload_url: str, service_auth: str, project_id: int | str, folder: Path
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        client = PayloadClient(payload_url, authorization=service_auth)
        self.data = brief_data(client, project_id, folder)
        self.times_ms: list[float] = []
        self._render()  # cold: imports, fonts, specialising; not counted

    def render(self, runs: int) -> None:
        """`runs` counted renders, back to back."""
        self.times_ms += [self._render() for _ in range(runs)]

    @property
    def ms(self) -> float:
        return statistics.median(self.times_ms)

    def _render(self) -> float:
        started = time.perf_counter()
        render_brief(self.data, self.folder / "brief.pdf", options=BriefOptions())
        return (time.perf_counter() - started) * 1000


def brief_data(client: PayloadClient, project_id: int | str, folder: Path) -> BriefData:
    """What the job hands `render_brief` for a default brief (`jobs.pdf.export.build`)."""
    collections = Collections()
    project = read_project(client, project_id, collections=collections)
    scripts = read_scripts(client, project, collections=collections)
    wanted = images_shown(project, scripts, BriefOptions())
    images = {str(item.id): download(client, item, folder) for item in wanted}
    return BriefData(
        project=project,
        scripts=scripts,
        media=project.own_media(),
        images=images,
        exported_at=datetime.now(UTC),
        service_version="bench",
        draft=is_draft(project, scripts),
    )


def download(client: PayloadClient, item: Media, folder: Path) -> Path:
    assert item.url is not None, f"{item.label} has no file URL"
    path = folder / f"{item.id}-{item.filename or 'image'}"
    with client.stream(item.url) as response, path.open("wb") as out:
        for chunk in response.iter_content(1 << 16):
            out.write(chunk)
    return path
