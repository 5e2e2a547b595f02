"""The export kinds: what each accepts, what it checks before queueing, and what builds it.

One registry serves every door (REST, the Payload webhook, MCP, the CLI), the OpenAPI
document, the MCP tools and the worker, so a kind is added or changed in one place:

- `request`: the pydantic model of its request body (unknown fields are errors);
- `prepare`: an optional check run before anything is recorded, which returns the job's
  params (the video kind pins the timeline it checked, so the job renders what was checked
  even if the project's own timeline changes meanwhile);
- `module`: the module a worker runs, imported on first use so the web process never loads
  what only workers need; it has `build(ctx) -> Artifact` and `depends_on(ctx)`, what the
  result's fingerprint covers (`jobs.fingerprint`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from app.settings import Settings
from jobs.content import ContentOptions, LocaleError, check_locale, content_options, reading_of
from jobs.pdf.brief import BriefOptions
from jobs.state import ExportType

if TYPE_CHECKING:
    from cms_client import PayloadClient
    from jobs.context import Artifact, ExportContext


def _integral(value: Any) -> Any:
    """JSON Schema counts 30.0 as an integer; so do we (but never a bool or 30.5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


ProjectId = Annotated[
    Annotated[StrictInt, Field(gt=0)]
    | Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", strict=True)],
    BeforeValidator(_integral),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportRequest(_Body):
    """What every export request names: the project. The rest is the kind's own."""

    projectId: ProjectId

    def params(self) -> dict[str, Any]:
        """The job's params: everything but the project, as JSON."""
        return self.model_dump(exclude={"projectId"}, exclude_none=True)


class BundleOptions(ContentOptions):
    format: Literal["zip", "tar.gz"] = "zip"
    includePdf: StrictBool = False


class PdfExportRequest(ExportRequest):
    options: BriefOptions | None = None


class ZipExportRequest(ExportRequest):
    includeMedia: StrictBool = False
    options: BundleOptions | None = None


class VideoExportRequest(ExportRequest):
    timeline: dict[str, Any] | None = None
    preset: str
    options: ContentOptions | None = None


class InvalidExportRequest(Exception):
    """A request that validates but cannot be exported; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


Prepare = Callable[["PayloadClient", Settings, Any], dict[str, Any]]


@dataclass(frozen=True)
class ExportKind:
    export_type: ExportType
    name: str  # as the CLI says it: `export-service export pdf 1`
    title: str
    request: type[ExportRequest]
    module: str
    prepare: Prepare | None = None
    #: Whether `options.locale` may be `all` (every locale side by side).
    all_locales: bool = False

    def params_for(
        self, cms: PayloadClient, settings: Settings, request: ExportRequest
    ) -> dict[str, Any]:
        """The job's params (blocking: may read Payload with `cms`, the acting person's)."""
        options = content_options(request.params())
        try:
            check_locale(cms, settings, options, all_allowed=self.all_locales)
        except LocaleError as exc:
            raise InvalidExportRequest(exc.field, exc.message) from exc
        if self.prepare is None:
            return request.params()
        return self.prepare(cms, settings, request)

    def build(self, ctx: ExportContext) -> Artifact:
        built: Artifact = importlib.import_module(self.module).build(ctx)
        return built

    def depends_on(self, ctx: ExportContext) -> dict[str, Any]:
        parts: dict[str, Any] = importlib.import_module(self.module).depends_on(ctx)
        return parts


def _pin_timeline(
    cms: PayloadClient, settings: Settings, request: VideoExportRequest
) -> dict[str, Any]:
    """Check preset, timeline and media against the project; pin the resolved timeline."""
    from cms_client import read_project
    from jobs.video.timeline import TimelineError, plan_for, preset_named

    try:
        preset_named(request.preset)
        project = read_project(
            cms,
            request.projectId,
            collections=settings.collections,
            reading=reading_of(request.params()),
        )
        plan = plan_for(
            {"preset": request.preset, "timeline": request.timeline},
            project,
            max_seconds=settings.limits.max_video_seconds,
        )
    except TimelineError as exc:
        raise InvalidExportRequest(exc.field, exc.message) from exc
    pinned: dict[str, Any] = {"preset": plan.preset.name, "timeline": plan.timeline}
    if request.options is not None:
        pinned["options"] = request.options.model_dump(exclude_none=True)
    return pinned


KINDS: dict[ExportType, ExportKind] = {
    kind.export_type: kind
    for kind in (
        ExportKind(
            ExportType.PROJECT_PDF,
            "pdf",
            "PDF brief",
            PdfExportRequest,
            module="jobs.pdf.export",
        ),
        ExportKind(
            ExportType.PROJECT_ZIP,
            "zip",
            "ZIP bundle",
            ZipExportRequest,
            module="jobs.zip.export",
            all_locales=True,
        ),
        ExportKind(
            ExportType.VIDEO,
            "video",
            "video export",
            VideoExportRequest,
            module="jobs.video.export",
            prepare=_pin_timeline,
        ),
    )
}


def kind_of(export_type: ExportType) -> ExportKind:
    return KINDS[export_type]


def kind_named(name: str) -> ExportKind:
    """The kind the CLI calls `name` (pdf, zip, video)."""
    return next(kind for kind in KINDS.values() if kind.name == name)
