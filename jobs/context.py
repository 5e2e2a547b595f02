"""What every export kind receives and returns, and the error it raises.

An export kind is a module with `build(ctx: ExportContext) -> Artifact`: it reads from
Payload through `ctx.cms`, writes only below `ctx.workdir` (removed afterwards whatever
happens) and reports through `ctx.progress`. The runner uploads the artifact. Its errors
are in `jobs.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings
from cms_client import PayloadClient

if TYPE_CHECKING:
    from jobs.progress import Progress
    from jobs.state import JobState


@dataclass(frozen=True)
class Artifact:
    """A finished export file, ready to upload to Payload Media."""

    path: Path
    filename: str
    mime_type: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportContext:
    job: JobState
    settings: Settings
    cms: PayloadClient
    workdir: Path
    progress: Progress
    #: What the job has read from Payload (`jobs.project_data.load`), so that the
    #: fingerprint and the build never read the same thing twice.
    fetched: dict[str, Any] = field(default_factory=dict)

    @property
    def project_id(self) -> int | str:
        return self.job.project_id
