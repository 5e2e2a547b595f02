"""The floor of a PDF job's render stage: the same brief rendered warm, in this process.

    ms = floor_render_ms(payload_url, service_auth, project_id, runs=15)

The brief's inputs are read from the running Payload exactly as the job reads them
(`cms_client.read_project` / `read_scripts` at depth 0 with the service's key, the images
`jobs.pdf.export.images_shown` picks), once; then the brief is rendered `runs` + 1 times
and the median of all but the first (cold) render is returned.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from app.settings import Collections
from cms_client import Media, PayloadClient, read_project, read_scripts
from jobs.pdf.brief import BriefData, BriefOptions, render_brief
from jobs.pdf.export import images_shown
from jobs.project_data import is_draft


def floor_render_ms(
    payload_url: str, service_auth: str, project_id: int | str, *, runs: int
) -> float:
    """Median ms of a warm render of the project's default brief."""
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        data = brief_data(
            PayloadClient(payload_url, authorization=service_auth), project_id, Path(tmp)
        )
        times = []
        for n in range(runs + 1):
            started = time.perf_counter()
            render_brief(data, Path(tmp) / f"brief-{n}.pdf", options=BriefOptions())
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[1:])


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
