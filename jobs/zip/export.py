"""The project bundle: everything a producer needs to take a project elsewhere.

    manifest.json             what is inside: per file its path, size, SHA-256, MIME type, source
    SHA256SUMS                the same checksums for `sha256sum -c SHA256SUMS`
    project.json              the project record: its fields, its media; relations as ids
    scripts/NNN-title.md      each script/story artifact as Markdown (its title once)
    scripts/NNN-title.json    … and as JSON, with Payload's field names
    brief.pdf                 the PDF brief, when `options.includePdf`
    with `options.locale: "all"`, each locale side by side instead (each file's manifest
    entry names its `locale`):
    project.<locale>.json     the project record in that locale
    scripts/<locale>/…        that locale's scripts
    brief.<locale>.pdf        that locale's brief, when `options.includePdf`
    media/references.json     without `includeMedia`: what each media item is and its URL
    media/references.csv      … the same as a spreadsheet
    media/<filename>          with `includeMedia`: the files themselves

The archive (`options.format`: ZIP64 or tar.gz, see `jobs.zip.archive`) is written as the
media stream in from the CMS, chunk by chunk, with every checksum computed on the way.
Before a byte is downloaded the limits are checked against the sizes Payload reports
(file count, each file, the total, free temporary disk), so an export that cannot fit
fails in a second with a sentence naming the limit; while streaming, the same limits,
`Content-Length` and the job's wall time are enforced again.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rq.timeouts import JobTimeoutException

from app.settings import Limits
from cms_client import ALL_LOCALES, CMSError, Media, Project, Script, iter_checked
from jobs import fingerprint
from jobs.content import artifact_name, content_options, locales_for_all
from jobs.context import Artifact, ExportContext
from jobs.disk import ensure_room, free_disk_bytes, human_bytes
from jobs.errors import ExportError
from jobs.lexical.headings import without_leading_title
from jobs.lexical.markdown import MediaUrl, escape_text, is_lexical, lexical_markdown
from jobs.lexical.walker import Node
from jobs.paths import UniqueNames, safe_component
from jobs.progress import Progress
from jobs.project_data import ProjectData, fetch_project_data, is_draft, load
from jobs.zip.archive import FORMATS, ArchiveError, ArchiveFormat, ArchiveWriter, open_archive

logger = logging.getLogger(__name__)

_BY_LOCALE_KEY = "project-data-by-locale"

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
BUNDLE_FORMAT_VERSION = 1
#: Progress while bundling runs from here to PROGRESS_DONE (the runner uses 90+ to upload).
PROGRESS_START = 12
PROGRESS_DONE = 88
#: Temporary disk reserved for everything but media (JSON, Markdown, the archive's
#: headers); the brief's images are counted on top when the PDF is included.
TEXT_OVERHEAD_BYTES = 16 * 1024 * 1024
#: Gzip level of tar.gz bundles: media do not compress, so favour speed when present.
GZIP_LEVEL_TEXT = 6
GZIP_LEVEL_MEDIA = 1
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

Clock = Callable[[], float]


@dataclass(frozen=True)
class BundleSpec:
    """What was asked for: the job's `includeMedia` and `options` (validated by the API)."""

    archive_format: ArchiveFormat = "zip"
    include_media: bool = False
    include_pdf: bool = False

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BundleSpec:
        options = params.get("options") or {}
        archive_format = options.get("format", "zip")
        if archive_format not in FORMATS:
            raise ExportError(f"{archive_format!r} is not a bundle format; use zip or tar.gz")
        return cls(
            archive_format=cast(ArchiveFormat, archive_format),
            include_media=bool(params.get("includeMedia", False)),
            include_pdf=bool(options.get("includePdf", False)),
        )


@dataclass(frozen=True)
class PlannedMedia:
    """One media file to download: where it goes in the archive and what Payload says."""

    media: Media
    path: str
    url: str
    size: int | None
    mime_type: str

    @property
    def label(self) -> str:
        return self.media.label


@dataclass
class Plan:
    """Every name in the bundle, claimed up front so that collisions are settled once."""

    spec: BundleSpec
    project: Project
    #: (script, archive path without extension, locale folder or `""`)
    scripts: list[tuple[Script, str, str]]
    media: list[PlannedMedia]
    names: UniqueNames
    #: The project by locale folder: `""` for one locale, each code for `all`.
    projects: dict[str, Project] = field(default_factory=dict)
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The locale asked for (`all`: every one of `locales`), and whether a draft was read.
    locale: str | None = None
    locales: tuple[str, ...] = ()
    draft: bool = False

    @property
    def file_count(self) -> int:
        media_files = len(self.media) if self.spec.include_media else 2
        # manifest, SHA256SUMS, and per locale project.json (and the brief)
        fixed = 2 + max(1, len(self.projects)) * (1 + int(self.spec.include_pdf))
        return fixed + 2 * len(self.scripts) + media_files

    @property
    def media_bytes(self) -> int:
        return sum(m.size or 0 for m in self.media) if self.spec.include_media else 0


def depends_on(ctx: ExportContext) -> dict[str, Any]:
    """What the bundle's fingerprint covers (`jobs.fingerprint`)."""
    spec = BundleSpec.from_params(ctx.job.params)
    content = content_options(ctx.job.params)
    by_locale = _by_locale(ctx, content.locale)
    docs = [{"locale": code, **data.project.to_json()} for code, data in by_locale.items()]
    docs += [
        {"locale": code, **script.to_json()}
        for code, data in by_locale.items()
        for script in data.scripts
    ]
    parts: dict[str, Any] = {
        "data": fingerprint.docs_digest(docs),
        # The spec as validated (defaults filled in), so `{}` and `{"format": "zip"}` match.
        "params": fingerprint.other_params(ctx.job.params, "includeMedia"),
        "spec": [spec.archive_format, spec.include_media, spec.include_pdf],
        "content": content.model_dump(exclude={"fresh"}),
        "bundle": BUNDLE_FORMAT_VERSION,
        "cms": ctx.cms.base_url,
    }
    if spec.include_pdf:
        from jobs.pdf import export as project_pdf

        parts["brief"] = {
            code: project_pdf.depends_on(_brief_context(ctx, code)) for code in by_locale
        }
    return parts


def build(ctx: ExportContext) -> Artifact:
    """Fetch the project, check the limits, write the archive and describe it."""
    spec = BundleSpec.from_params(ctx.job.params)
    ctx.progress.report("fetching project", 5)
    project = load(ctx).project
    locale = content_options(ctx.job.params).locale
    by_locale = _by_locale(ctx, locale)
    scripts = {code: data.scripts for code, data in by_locale.items()}
    projects = {code: data.project for code, data in by_locale.items()}
    plan = plan_bundle(ctx, spec, project, scripts, projects)
    plan.locale, plan.locales = locale, tuple(code for code in scripts if code)
    plan.draft = is_draft(project, [s for found in scripts.values() for s in found])
    check_limits(ctx, plan)
    path = ctx.workdir / f"bundle{FORMATS[spec.archive_format][1]}"
    try:
        archive = _write_bundle(ctx, plan, path)
    except ArchiveError as exc:
        raise ExportError(f"the bundle could not be written: {exc}; nothing was uploaded") from exc
    except JobTimeoutException as exc:  # RQ's own alarm, should the meter not see it first
        raise ExportError(_timeout_sentence(ctx.settings.limits)) from exc
    ctx.progress.report("bundled", PROGRESS_DONE)
    mime_type, extension = FORMATS[spec.archive_format]
    return Artifact(
        path=path,
        filename=artifact_name(
            project.title or f"project-{ctx.project_id}",
            f"bundle{extension}",
            locale=locale,
            draft=plan.draft,
        ),
        mime_type=mime_type,
        metadata={
            "format": spec.archive_format,
            "sha256": archive.sha256,
            "fileCount": len(archive.entries),
            "includeMedia": spec.include_media,
            "locale": locale,
            "draft": plan.draft,
        },
    )


def _by_locale(ctx: ExportContext, locale: str | None) -> dict[str, ProjectData]:
    """The project and its scripts by locale folder: `""` for one locale, each code for
    `all` (read once per job)."""
    if locale != ALL_LOCALES:
        return {"": load(ctx)}
    cached = ctx.fetched.get(_BY_LOCALE_KEY)
    if isinstance(cached, dict):
        return cached
    found = {
        code: fetch_project_data(ctx, locale=code)
        for code in locales_for_all(ctx.cms, ctx.settings)
    }
    ctx.fetched[_BY_LOCALE_KEY] = found
    return found


def localised(name: str, folder: str) -> str:
    """`project.json` in a one-locale bundle, `project.de.json` beside the others in `all`."""
    if not folder:
        return name
    stem, dot, extension = name.rpartition(".")
    return f"{stem}.{safe_component(folder)}{dot}{extension}"


# -- planning ------------------------------------------------------------------------


def plan_bundle(
    ctx: ExportContext,
    spec: BundleSpec,
    project: Project,
    scripts: list[Script] | dict[str, list[Script]],
    projects: dict[str, Project] | None = None,
) -> Plan:
    """Decide every path in the archive; fixed names first, so content cannot take them."""
    projects = projects or {"": project}
    names = UniqueNames()
    per_locale = [localised(n, f) for f in projects for n in ("project.json", "brief.pdf")]
    references = ("media/references.json", "media/references.csv")
    for fixed in (MANIFEST, CHECKSUMS, *per_locale, *references):
        names.reserve(fixed)
    by_locale = scripts if isinstance(scripts, dict) else {"": scripts}
    planned_scripts = [
        (script, _script_stem(names, script, folder), folder)
        for folder, found in by_locale.items()
        for script in found
    ]
    # References need no archive paths: only files in the bundle claim names.
    claim = names if spec.include_media else None
    planned_media = [_plan_media(ctx, claim, item) for item in project.own_media()]
    return Plan(spec, project, planned_scripts, planned_media, names, projects=projects)


def _script_stem(names: UniqueNames, script: Script, folder: str = "") -> str:
    title = safe_component(script.title or f"script-{script.id}")
    number = script.order if script.order is not None and script.order >= 0 else 0
    where = f"scripts/{safe_component(folder)}/" if folder else "scripts/"
    return names.claim(f"{where}{number:03d}-{title}", tag=f"{folder}:{script.id}")


def _plan_media(ctx: ExportContext, names: UniqueNames | None, media: Media) -> PlannedMedia:
    absolute = ctx.cms.absolute_url(media.url) if media.url else ""
    # Flat: a filename's slashes become `_`, so `../../etc/passwd` is `media/_.._etc_passwd`.
    filename = safe_component(media.filename or "", fallback=f"media-{media.id}")
    path = f"media/{filename}"
    if names is not None:
        path = names.claim(path, tag=str(media.id))
    return PlannedMedia(
        media=media,
        path=path,
        url=absolute,
        size=media.filesize if media.filesize is not None and media.filesize >= 0 else None,
        mime_type=media.mime_type or "application/octet-stream",
    )


# -- limits --------------------------------------------------------------------------


def check_limits(ctx: ExportContext, plan: Plan) -> None:
    """Fail now, naming the limit and the figures, if the bundle cannot fit."""
    limits = ctx.settings.limits
    if plan.file_count > limits.max_files:
        raise ExportError(
            f"the bundle of project {ctx.project_id} would hold {plan.file_count:,} files, "
            f"over EXPORT_MAX_FILES ({limits.max_files:,})"
        )
    if plan.spec.include_media:
        _check_media_sizes(ctx, plan, limits)
    _check_free_disk(ctx, plan, limits)


def _check_media_sizes(ctx: ExportContext, plan: Plan, limits: Limits) -> None:
    for item in plan.media:
        if not item.url:
            raise ExportError(f"{item.label} has no file URL in Payload, so it cannot be bundled")
        if item.size is not None and item.size > limits.max_file_bytes:
            raise ExportError(
                f"{item.label} is {human_bytes(item.size)}, over EXPORT_MAX_FILE_BYTES "
                f"({human_bytes(limits.max_file_bytes)})"
            )
    if plan.media_bytes > limits.max_total_bytes:
        raise ExportError(
            f"the {len(plan.media)} media files of project {ctx.project_id} add up to "
            f"{human_bytes(plan.media_bytes)}, over EXPORT_MAX_TOTAL_BYTES "
            f"({human_bytes(limits.max_total_bytes)}); export without media "
            "(includeMedia: false) to get references instead"
        )


def _check_free_disk(ctx: ExportContext, plan: Plan, limits: Limits) -> None:
    needed = plan.media_bytes + TEXT_OVERHEAD_BYTES
    if plan.spec.include_pdf:
        needed += sum(m.size or 0 for m in plan.media if m.mime_type in IMAGE_TYPES)
    free = free_disk_bytes(ctx.workdir)
    ensure_room("the bundle", needed=needed, free=free, reserve=limits.min_free_temp_bytes)


# -- writing -------------------------------------------------------------------------


def _write_bundle(ctx: ExportContext, plan: Plan, path: Path) -> ArchiveWriter:
    spec = plan.spec
    level = GZIP_LEVEL_MEDIA if spec.include_media else GZIP_LEVEL_TEXT
    sources: list[dict[str, Any]] = []
    with open_archive(
        path, spec.archive_format, mtime=plan.exported_at, gzip_level=level
    ) as archive:
        ctx.progress.report("bundling scripts", 8)
        sources += _add_records(ctx, archive, plan)
        if spec.include_pdf:
            sources += _add_briefs(ctx, archive, list(plan.projects))
        if spec.include_media:
            sources += _add_media_files(ctx, archive, plan)
        else:
            sources += _add_references(archive, plan)
        _add_manifest(ctx, archive, plan, sources)
    logger.info(
        "job %s: bundle of %d files, %d bytes, sha256 %s",
        ctx.job.job_id,
        len(archive.entries),
        archive.bytes_written,
        archive.sha256,
    )
    return archive


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode() + b"\n"


def _add_records(ctx: ExportContext, archive: ArchiveWriter, plan: Plan) -> list[dict[str, Any]]:
    collections = ctx.settings.collections
    sources = []
    for folder, project in (plan.projects or {"": plan.project}).items():
        name = localised("project.json", folder)
        archive.add_bytes(name, _json_bytes(project.to_json()), mime_type="application/json")
        sources.append(_source(collections.projects, project.id, "project", locale=folder))
    media_paths = {str(m.media.id): m for m in plan.media}
    for script, stem, folder in plan.scripts:
        markdown = script_markdown(script, plan.project, _media_link(media_paths, plan.spec))
        archive.add_bytes(f"{stem}.md", markdown.encode(), mime_type="text/markdown")
        script_json = _json_bytes(script.to_json())
        archive.add_bytes(f"{stem}.json", script_json, mime_type="application/json")
        sources += [
            _source(collections.scripts, script.id, "script-markdown", locale=folder),
            _source(collections.scripts, script.id, "script-json", locale=folder),
        ]
    return sources


def _source(collection: str | None, doc_id: Any, kind: str, *, locale: str = "") -> dict[str, Any]:
    source = {"kind": kind, "sourceCollection": collection, "sourceId": doc_id}
    return {**source, "locale": locale} if locale else source


def _media_link(media: dict[str, PlannedMedia], spec: BundleSpec) -> MediaUrl:
    def link(doc: Node) -> str | None:
        item = media.get(str(doc.get("id")))
        if item is None:
            return None
        return f"../{item.path}" if spec.include_media else item.url or None

    return link


def script_markdown(script: Script, project: Project, media_url: MediaUrl) -> str:
    """A script as Markdown: its title, a few facts, its body, then other rich-text fields."""
    title = escape_text(script.title or f"Script {script.id}")
    facts = [
        ("Project", project.title),
        ("Kind", script.kind),
        ("Order", script.order),
        ("Updated", script.updated_at),
    ]
    lines = [f"# {title}", ""]
    lines += [
        f"- **{name}:** {escape_text(str(value))}"
        for name, value in facts
        if value not in (None, "")
    ]
    parts = ["\n".join(lines)]
    body = without_leading_title(script.body, script.title)
    if body not in (None, ""):
        parts.append(lexical_markdown(body, media_url=media_url))
    for key, value in script.other_fields.items():
        if is_lexical(value):
            section = lexical_markdown(value, media_url=media_url)
            parts.append(f"## {escape_text(_humanize(key))}\n\n{section}")
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def _humanize(key: str) -> str:
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in key).replace("_", " ")
    return spaced.strip().capitalize()


def _add_references(archive: ArchiveWriter, plan: Plan) -> list[dict[str, Any]]:
    rows = [_reference(m) for m in plan.media]
    archive.add_bytes("media/references.json", _json_bytes(rows), mime_type="application/json")
    archive.add_bytes("media/references.csv", references_csv(rows), mime_type="text/csv")
    return [_source(None, None, "media-references"), _source(None, None, "media-references")]


def _reference(item: PlannedMedia) -> dict[str, Any]:
    return {
        "id": item.media.id,
        "filename": item.media.filename,
        "mimeType": item.media.mime_type,
        "size": item.size,
        "url": item.url or None,
    }


def references_csv(rows: list[dict[str, Any]]) -> bytes:
    """The references as CSV (UTF-8 with BOM for spreadsheets; formulas neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["id", "filename", "mimeType", "size", "url"])
    for row in rows:
        writer.writerow([_csv_cell(row[k]) for k in ("id", "filename", "mimeType", "size", "url")])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- media ---------------------------------------------------------------------------


class _Meter:
    """Counts media bytes as they stream: progress, the total limit and the wall time."""

    def __init__(self, ctx: ExportContext, expected: int, clock: Clock) -> None:
        self.ctx = ctx
        self.limits = ctx.settings.limits
        self.expected = max(expected, 1)
        self.done = 0
        self.clock = clock
        self.deadline = clock() + self.limits.job_timeout_s

    def count(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.done += len(chunk)
            self.check()
            self.report()
            yield chunk

    def report(self) -> None:
        share = min(self.done / self.expected, 1.0)
        percent = PROGRESS_START + (PROGRESS_DONE - PROGRESS_START) * share
        self.ctx.progress.report("bundling media", percent)

    def check(self) -> None:
        if self.done > self.limits.max_total_bytes:
            raise ExportError(
                f"the media of project {self.ctx.project_id} passed EXPORT_MAX_TOTAL_BYTES "
                f"({human_bytes(self.limits.max_total_bytes)}) while downloading "
                "(Payload reported less than was sent); nothing was uploaded"
            )
        if self.clock() > self.deadline:
            raise ExportError(
                _timeout_sentence(self.limits)
                + f" ({human_bytes(self.done)} of {human_bytes(self.expected)} were bundled)"
            )


def _add_media_files(
    ctx: ExportContext, archive: ArchiveWriter, plan: Plan
) -> list[dict[str, Any]]:
    meter = _Meter(ctx, plan.media_bytes, clock)
    sources = []
    for item in plan.media:
        meter.check()
        _add_media_file(ctx, archive, item, meter)
        sources.append(_source(ctx.settings.collections.media, item.media.id, "media"))
    return sources


def _add_media_file(
    ctx: ExportContext, archive: ArchiveWriter, item: PlannedMedia, meter: _Meter
) -> None:
    try:
        with ctx.cms.stream(item.url) as response:
            chunks = iter_checked(
                response,
                url=response.url,
                max_bytes=ctx.settings.limits.max_file_bytes,
                expected_size=item.size,
                limit_name="EXPORT_MAX_FILE_BYTES",
            )
            size = item.size if item.size is not None else _content_length(response.headers)
            archive.add_stream(item.path, meter.count(chunks), size=size, mime_type=item.mime_type)
    except CMSError as exc:
        raise ExportError(
            f"{item.label} could not be bundled: {exc}; nothing was uploaded"
        ) from exc


def _content_length(headers: Any) -> int | None:
    value = str(headers.get("content-length") or "")
    return int(value) if value.isdigit() else None


# -- the brief -----------------------------------------------------------------------


class _SliceProgress(Progress):
    """Maps a sub-export's 0–100 onto a slice of this job's progress bar.

    It only forwards `report`: the sub-export gets no other part of the job's state.
    """

    def __init__(self, outer: Progress, low: float, high: float) -> None:
        # No super().__init__: this object holds no job state of its own.
        self.outer, self.low, self.high = outer, low, high
        self.timings = outer.timings

    def report(self, stage: str, percent: float) -> None:
        share = max(0.0, min(percent, 100.0)) / 100
        self.outer.report(f"brief: {stage}", self.low + (self.high - self.low) * share)


def _brief_context(ctx: ExportContext, folder: str) -> ExportContext:
    """The job as a brief in one locale: the bundle's own (`""`) or `folder`'s, read anew."""
    options = content_options(ctx.job.params).model_dump(exclude_none=True, exclude={"fresh"})
    if not folder:
        return replace(ctx, job=replace(ctx.job, params={"options": options}))
    options["locale"] = folder
    return replace(ctx, job=replace(ctx.job, params={"options": options}), fetched={})


def _add_briefs(
    ctx: ExportContext, archive: ArchiveWriter, folders: list[str]
) -> list[dict[str, Any]]:
    from jobs.pdf import export as project_pdf  # xhtml2pdf is heavy: only when a brief is asked for

    sources = []
    share = (PROGRESS_START - 8) / len(folders)
    for i, folder in enumerate(folders):
        workdir = ctx.workdir / localised("brief", folder)
        workdir.mkdir()
        low = 8 + share * i
        sub = replace(
            _brief_context(ctx, folder),
            workdir=workdir,
            progress=_SliceProgress(ctx.progress, low, low + share),
        )
        artifact = project_pdf.build(sub)
        name = localised("brief.pdf", folder)
        archive.add_file(name, artifact.path, mime_type="application/pdf")
        shutil.rmtree(workdir, ignore_errors=True)
        sources.append(_source(None, None, "brief", locale=folder))
    return sources


# -- manifest ------------------------------------------------------------------------


def _add_manifest(
    ctx: ExportContext, archive: ArchiveWriter, plan: Plan, sources: list[dict[str, Any]]
) -> None:
    files = [
        {"path": e.path, "size": e.size, "sha256": e.sha256, "mimeType": e.mime_type, **s}
        for e, s in zip(archive.entries, sources, strict=True)
    ]
    manifest = build_manifest(ctx, plan, files)
    archive.add_bytes(MANIFEST, _json_bytes(manifest), mime_type="application/json")
    sums = "".join(f"{e.sha256}  {e.path}\n" for e in archive.entries)
    archive.add_bytes(CHECKSUMS, sums.encode(), mime_type="text/plain")


def build_manifest(ctx: ExportContext, plan: Plan, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest: the project, the export and every file but itself and SHA256SUMS."""
    return {
        "bundleFormatVersion": BUNDLE_FORMAT_VERSION,
        "projectId": ctx.project_id,
        "title": plan.project.title,
        "exportedAt": plan.exported_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "jobId": ctx.job.job_id,
        "serviceVersion": ctx.settings.service_version,
        "cms": ctx.cms.base_url,
        "format": plan.spec.archive_format,
        "includeMedia": plan.spec.include_media,
        "includePdf": plan.spec.include_pdf,
        "locale": plan.locale,
        "locales": list(plan.locales),
        "draft": plan.draft,
        "fileCount": len(files),
        "totalBytes": sum(f["size"] for f in files),
        "files": files,
    }


# -- wall time -----------------------------------------------------------------------


def clock() -> float:
    """The meter's clock (a module function so tests can move time on)."""
    return time.monotonic()


def _timeout_sentence(limits: Limits) -> str:
    return (
        f"the bundle was not finished within EXPORT_JOB_TIMEOUT_S ({limits.job_timeout_s:,} s); "
        "nothing was uploaded; raise the limit or export without media (includeMedia: false)"
    )
