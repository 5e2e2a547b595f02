"""The project PDF brief: Payload documents in, a designed, deterministic PDF out.

``render_brief(data, out_path, options=...)`` renders a Jinja2 template (autoescape
on) to HTML and that HTML to PDF with xhtml2pdf. The job fetches everything first
and hands it over as :class:`BriefData`; rendering reads nothing else:

* the template's own files and fonts, and the images in ``BriefData.images``
  (downscaled with Pillow into a temporary directory beside ``out_path``) are
  the only files the link callback resolves; every other URL or path in the
  document is refused, and the resource policy forbids the network outright;
* ``exported_at`` is the only clock: the PDF's dates and document ID derive
  from it, so the same data and options give a byte-identical file.

Errors::

    BriefError            a sentence a person can act on
      (template not found, template error, render failed, output not writable)

Options are a pydantic model that rejects unknown fields (a 422 upstream).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jinja2
from markupsafe import Markup
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import Field

from cms_client import Media, Project, Script
from jobs.content import ContentOptions
from jobs.lexical.headings import without_leading_title
from jobs.lexical.html import (
    CJK_CLASS,
    FONTS_DIR,
    ImageRef,
    ImageSource,
    font_runs,
    lexical_html,
    plain_text,
    text_direction,
    text_html,
)
from jobs.pdf import passes
from jobs.pdf.details import detail_rows, team_lines
from jobs.pdf.fonts import remember_font_digests, remember_font_files
from jobs.pdf.labels import Labels, labels_for
from jobs.pdf.screenplay import screenplay_html

log = logging.getLogger(__name__)

BUILTIN_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "brief"
DEFAULT_TEMPLATE = "default"
TEMPLATE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
ENTRY_TEMPLATE = "brief.html"

SectionName = Literal["cover", "toc", "summary", "details", "scripts", "media"]
ALL_SECTIONS: tuple[SectionName, ...] = ("cover", "toc", "summary", "details", "scripts", "media")

#: Longest side, in pixels, of an image as embedded.
COVER_MAX_PX = 1600
INLINE_MAX_PX = 1200
THUMB_MAX_PX = 300
JPEG_QUALITY = 85
#: Threads downscaling images (the workers have 2 cores).
PREPARE_THREADS = 2
#: Images larger than this are not decoded at all (a decompression bomb guard).
MAX_IMAGE_PIXELS = 120_000_000
#: Inline render limit: a bound, not a precise stop (checked between flowables).
MAX_RENDER_S = 600.0

PAGE_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
MARGIN_MM = 20.0
MM_PER_PX_96DPI = 25.4 / 96

#: Space a chapter needs left on a page to start there rather than on the next one.
CHAPTER_MIN_SPACE_MM = 70


class BriefError(Exception):
    """The brief could not be rendered; the message says what to change."""


class BriefOptions(ContentOptions):
    """What a caller may choose about a brief. Unknown fields are rejected."""

    sections: list[SectionName] | None = None
    paperSize: Literal["A4", "Letter"] = "A4"
    orientation: Literal["portrait", "landscape"] = "portrait"
    includeMediaAppendix: bool = True
    includeThumbnails: bool = True
    template: str = Field(DEFAULT_TEMPLATE, pattern=TEMPLATE_NAME_PATTERN)

    def enabled(self) -> tuple[SectionName, ...]:
        """The sections to render, in document order."""
        chosen = set(self.sections) if self.sections is not None else set(ALL_SECTIONS)
        if not self.includeMediaAppendix:
            chosen.discard("media")
        return tuple(s for s in ALL_SECTIONS if s in chosen)


@dataclass(frozen=True)
class BriefData:
    """Everything a brief shows, fetched by the job beforehand."""

    project: Project
    scripts: Sequence[Script]
    media: Sequence[Media]
    images: Mapping[str, Path]
    exported_at: datetime
    service_version: str
    #: The locale the content was read in (None: Payload's default); labels follow it.
    locale: str | None = None
    #: The content includes an unpublished draft: every page says so.
    draft: bool = False
    #: The `export-requests` document this brief answers (kept in the PDF's metadata).
    export_request_id: int | str | None = None


@dataclass(frozen=True)
class BriefInfo:
    """What was written."""

    pages: int
    bytes: int


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #


def render_brief(
    data: BriefData,
    out_path: Path,
    *,
    options: BriefOptions,
    templates_dir: Path | None = None,
) -> BriefInfo:
    """Render the brief for ``data`` to ``out_path`` (replaced atomically).

    ``templates_dir`` is a deployment's directory of ``<template name>/brief.html``
    (and ``brief.css``, ``fonts/``, assets); files it lacks come from the built-in
    template. Raises :class:`BriefError`.
    """
    template_dirs = resolve_template_dirs(options.template, templates_dir)
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise BriefError(f"cannot write the brief to {out_path}: {out_path.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix=".brief-", dir=out_path.parent) as tmp:
        images = ImageStore(data.images, Path(tmp))
        html = build_html(data, options, template_dirs, images)
        pdf = html_to_pdf(html, template_dirs, images, exported_at=data.exported_at)
    _write_atomically(out_path, pdf)
    return BriefInfo(pages=count_pages(pdf), bytes=len(pdf))


def resolve_template_dirs(name: str, templates_dir: Path | None = None) -> list[Path]:
    """The directories a template's files are looked up in, most specific first."""
    if not re.fullmatch(TEMPLATE_NAME_PATTERN, name):
        raise BriefError(f"template name {name!r} is not allowed: use letters, digits, - and _")
    dirs: list[Path] = []
    if templates_dir is not None:
        candidate = Path(templates_dir) / name
        if (candidate / ENTRY_TEMPLATE).is_file():
            dirs.append(candidate.resolve())
    if (BUILTIN_TEMPLATES_DIR / name / ENTRY_TEMPLATE).is_file():
        dirs.append(BUILTIN_TEMPLATES_DIR / name)
    if not dirs:
        # The folders stay in the log: a caller is told what to change, not where we keep it.
        log.warning(
            "template %r not found: no %s in %s/%s/ or %s/%s/",
            name, ENTRY_TEMPLATE, templates_dir, name, BUILTIN_TEMPLATES_DIR, name,
        )  # fmt: skip
        builtin = ", ".join(sorted(p.name for p in BUILTIN_TEMPLATES_DIR.iterdir() if p.is_dir()))
        raise BriefError(
            f"template {name!r} not found: it is not a built-in template ({builtin}) nor a "
            f"folder with {ENTRY_TEMPLATE} in EXPORT_TEMPLATES_DIR"
        )
    default = BUILTIN_TEMPLATES_DIR / DEFAULT_TEMPLATE
    if default not in dirs:
        dirs.append(default)
    return dirs


def _write_atomically(out_path: Path, pdf: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=".brief-", suffix=".pdf", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
        os.replace(tmp_name, out_path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise BriefError(f"cannot write the brief to {out_path}: {exc}") from exc


def count_pages(pdf: bytes) -> int:
    """Pages in a PDF the renderer wrote."""
    import io

    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


# --------------------------------------------------------------------------- #
# Images: only BriefData.images, downscaled before embedding
# --------------------------------------------------------------------------- #

IMAGE_SCHEME = "image:"


class _Prepared(NamedTuple):
    src: str
    width_px: int
    height_px: int
    path: Path


@dataclass
class ImageStore:
    """Downscaled copies of the job's images, addressed as ``image:<name>`` in HTML."""

    sources: Mapping[str, Path]
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    _done: dict[tuple[str, int], _Prepared | None] = field(default_factory=dict)

    def get(self, media_id: object, max_px: int) -> _Prepared | None:
        """The embedded copy of media ``media_id`` at most ``max_px`` wide/high, or None."""
        key = (str(media_id), max_px)
        if key not in self._done:
            self.prefetch([key])
        return self._done[key]

    def prefetch(self, wanted: Sequence[tuple[object, int]]) -> None:
        """Prepare several images at once: Pillow releases the GIL, so threads help."""
        todo = list(dict.fromkeys((str(m), px) for m, px in wanted))
        todo = [key for key in todo if key not in self._done]
        names = {key: f"img{len(self._done) + i + 1}" for i, key in enumerate(todo)}
        with ThreadPoolExecutor(max_workers=max(1, min(PREPARE_THREADS, len(todo)))) as pool:
            results = list(pool.map(lambda key: self._convert(key[0], key[1], names[key]), todo))
        for key, result in zip(todo, results, strict=True):
            self._done[key] = result
            if result is not None:
                self.files[names[key]] = result.path

    def path_for(self, src: str) -> Path | None:
        """The local file an ``image:`` src names, if this store wrote it."""
        if not src.startswith(IMAGE_SCHEME):
            return None
        return self.files.get(src[len(IMAGE_SCHEME) :])

    def _convert(self, media_id: str, max_px: int, name: str) -> _Prepared | None:
        source = self.sources.get(media_id)
        if source is None:
            return None
        try:
            dest, size = downscale(Path(source), self.directory / name, max_px)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
            log.warning("brief: media %s (%s) is not a usable image: %s", media_id, source, exc)
            return None
        return _Prepared(IMAGE_SCHEME + name, size[0], size[1], dest)


def downscale(source: Path, dest_stem: Path, max_px: int) -> tuple[Path, tuple[int, int]]:
    """Write ``source`` at most ``max_px`` on its long side: JPEG, or PNG if transparent."""
    with Image.open(source) as opened:
        if opened.width * opened.height > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"{opened.width}x{opened.height} px is over {MAX_IMAGE_PIXELS:,} pixels"
            )
        opened.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((max_px, max_px), Image.Resampling.BICUBIC)
        if image.mode in ("RGBA", "LA", "P") and _has_alpha(image):
            dest = dest_stem.with_suffix(".png")
            image.convert("RGBA").save(dest, "PNG")
        else:
            dest = dest_stem.with_suffix(".jpg")
            image.convert("RGB").save(dest, "JPEG", quality=JPEG_QUALITY)
        return dest, image.size


def _has_alpha(image: Image.Image) -> bool:
    if image.mode == "P":
        return "transparency" in image.info
    low, _high = image.getchannel("A").getextrema()
    return isinstance(low, (int, float)) and low < 255


# --------------------------------------------------------------------------- #
# The view the template sees
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Layout:
    """Page geometry in millimetres, for CSS and for fitting images."""

    paper: str
    orientation: str
    width_mm: float
    height_mm: float
    margin_mm: float = MARGIN_MM

    @property
    def frame_width_mm(self) -> float:
        return self.width_mm - 2 * self.margin_mm

    @property
    def frame_height_mm(self) -> float:
        return self.height_mm - 2 * self.margin_mm - 10

    @property
    def css_size(self) -> str:
        return f"{self.paper.lower()} {self.orientation}"


def layout_for(options: BriefOptions) -> Layout:
    """The page geometry an options object asks for."""
    w, h = PAGE_SIZES_MM[options.paperSize]
    if options.orientation == "landscape":
        w, h = h, w
    return Layout(options.paperSize, options.orientation, w, h)


def _fit(image: _Prepared, box_w_mm: float, box_h_mm: float) -> dict[str, Any]:
    natural_w = image.width_px * MM_PER_PX_96DPI * 2  # 192 dpi: crisp, and never tiny
    scale = min(box_w_mm / image.width_px, box_h_mm / image.height_px)
    scale = min(scale, natural_w / image.width_px)
    return {
        "src": image.src,
        "width": f"{image.width_px * scale:.1f}mm",
        "height": f"{image.height_px * scale:.1f}mm",
    }


def build_view(data: BriefData, options: BriefOptions, images: ImageStore) -> dict[str, Any]:
    """The template context: display-ready values, rich text already as safe HTML."""
    layout = layout_for(options)
    project = data.project
    sections = options.enabled()
    labels = labels_for(data.locale)
    images.prefetch(_images_shown(data, options))

    def inline_image(media_id: str) -> ImageRef | None:
        prepared = images.get(media_id, INLINE_MAX_PX)
        if prepared is None:
            return None
        fitted = _fit(prepared, layout.frame_width_mm * 0.8, layout.frame_height_mm * 0.35)
        return ImageRef(fitted["src"], fitted["width"], fitted["height"])

    return {
        "sections": sections,
        "layout": layout,
        "labels": labels,
        "lang": data.locale or labels.language,
        "draft": data.draft,
        "project": project.to_json(),
        "title": project.title or "Untitled project",
        "title_dir": text_direction(project.title or ""),
        "logline": project.logline or "",
        "summary": lexical_html(project.summary, image_src=inline_image),
        "cover": _cover(project, images, layout) if "cover" in sections else None,
        "team": team_lines(project),
        "details": detail_rows(project, labels) if "details" in sections else [],
        "scripts": [_script(s, inline_image, labels) for s in data.scripts]
        if "scripts" in sections
        else [],
        "chapter_min_space": f"{CHAPTER_MIN_SPACE_MM}mm",
        "media": _media_rows(data.media, images, options) if "media" in sections else [],
        "show_thumbnails": options.includeThumbnails,
        "exported_at": labels.date(data.exported_at, with_time=True),
        "exported_on": labels.date(data.exported_at),
        "exported_at_iso": _utc(data.exported_at).isoformat(),
        "keywords": _keywords(data),
        "counts": {"scripts": len(data.scripts), "media": len(data.media)},
    }


def _keywords(data: BriefData) -> str:
    """The PDF's keywords: what produced it (never shown on a page)."""
    words = [f"export-service {data.service_version}"]
    if data.export_request_id is not None:
        words.append(f"export request {data.export_request_id}")
    words.append(f"locale {data.locale or 'default'}")
    if data.draft:
        words.append("draft")
    return ", ".join(words)


def _images_shown(data: BriefData, options: BriefOptions) -> list[tuple[object, int]]:
    wanted: list[tuple[object, int]] = []
    sections = options.enabled()
    cover = data.project.cover
    if "cover" in sections and cover is not None:
        wanted.append((cover.id, COVER_MAX_PX))
    if "media" in sections and options.includeThumbnails:
        wanted += [(m.id, THUMB_MAX_PX) for m in data.media if m.kind == "image"]
    return [(media_id, px) for media_id, px in wanted if str(media_id) in data.images]


def _cover(project: Project, images: ImageStore, layout: Layout) -> dict[str, Any] | None:
    if project.cover is None:
        return None
    prepared = images.get(project.cover.id, COVER_MAX_PX)
    if prepared is None:
        return None
    fitted = _fit(prepared, layout.frame_width_mm, layout.frame_height_mm * 0.55)
    return {**fitted, "alt": plain_text(project.cover.alt or "Cover image")}


def _script(script: Script, image_src: ImageSource, labels: Labels) -> dict[str, Any]:
    kind = script.kind or "script"
    title = script.title or labels.kind(kind)
    body = without_leading_title(script.body, script.title)
    screenplay = screenplay_html(body) if kind == "script" else None
    return {
        "id": script.id,
        "title": title,
        "title_dir": text_direction(title),
        "kind": kind,
        "kind_label": labels.kind(kind),
        "screenplay": screenplay is not None,
        "body": screenplay if screenplay is not None else lexical_html(body, image_src=image_src),
    }


def _media_rows(
    media: Sequence[Media], images: ImageStore, options: BriefOptions
) -> list[dict[str, Any]]:
    rows = []
    for item in media:
        thumb = None
        if options.includeThumbnails and item.kind == "image":
            prepared = images.get(item.id, THUMB_MAX_PX)
            thumb = _fit(prepared, 24, 16) if prepared else None
        rows.append(
            {
                "id": item.id,
                "filename": item.filename or f"media {item.id}",
                "alt": item.alt or "",
                "type": item.mime_type or "unknown",
                "size": human_size(item.filesize),
                "dimensions": _dimensions(item),
                "duration": format_duration(item.duration),
                "thumb": thumb,
            }
        )
    return rows


def _dimensions(item: Media) -> str:
    if item.width and item.height:
        return f"{item.width} × {item.height} px"
    return ""


def human_size(size: object) -> str:
    """Bytes as people read them: ``2.4 MB`` (decimal units, like file managers)."""
    if not isinstance(size, (int, float)) or isinstance(size, bool) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""  # pragma: no cover


def format_duration(seconds: object) -> str:
    """``83.4`` -> ``1:23``; ``3725`` -> ``1:02:05``; anything else -> empty."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_date(moment: datetime, locale: str | None = None) -> str:
    """``25 November 2025, 14:03 UTC``, in the locale's language and format."""
    return labels_for(locale).date(moment, with_time=True)


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #


def _finalize(value: object) -> object:
    # Every {{ expression }} passes through here before autoescape: plain text is
    # escaped and given its fonts (CJK, RTL, emoji markers); Markup is kept.
    if value is None:
        return ""
    if isinstance(value, (Markup, int, float)):
        return value
    return text_html(value)


def make_environment(template_dirs: Sequence[Path]) -> jinja2.Environment:
    """The Jinja2 environment templates render in (autoescape on, no undefined names).

    One per set of folders, kept: its compiled templates survive from the warm worker
    into every work horse (jobs/preload.py); `auto_reload` still notices edited files.
    """
    return _environment(tuple(template_dirs))


@lru_cache(maxsize=16)
def _environment(template_dirs: tuple[Path, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["plain"] = plain_text
    env.filters["text"] = text_html
    env.filters["dir"] = text_direction
    return env


def build_html(
    data: BriefData, options: BriefOptions, template_dirs: Sequence[Path], images: ImageStore
) -> str:
    """The final HTML of the brief (what xhtml2pdf is given)."""
    env = make_environment(template_dirs)
    try:
        template = env.get_template(ENTRY_TEMPLATE)
        return template.render(build_view(data, options, images))
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or ENTRY_TEMPLATE
        line = getattr(exc, "lineno", None)
        raise BriefError(
            f"template {options.template!r} failed ({where}, line {line}): {exc}"
        ) from exc


# --------------------------------------------------------------------------- #
# PDF
# --------------------------------------------------------------------------- #

_RENDER_LOCK = threading.Lock()


class LinkCallback:
    """xhtml2pdf's link_callback: resolves the brief's own names, refuses the rest.

    ``font:<file>`` -> a template's ``fonts/`` or the shipped fonts,
    ``asset:<path>`` -> a file in the template's directories,
    ``image:<name>`` -> a downscaled image of this render.
    Everything else (http, file, data, absolute or relative paths) gets a path
    that does not exist inside the scratch directory, so nothing is read.
    """

    def __init__(self, template_dirs: Sequence[Path], images: ImageStore) -> None:
        self.template_dirs = list(template_dirs)
        self.images = images
        self.refused: list[str] = []

    @property
    def roots(self) -> tuple[Path, ...]:
        """Directories the resource policy lets xhtml2pdf read."""
        return (self.images.directory, FONTS_DIR, *self.template_dirs)

    def __call__(self, uri: object, rel: object = None) -> str:
        found = self.resolve(str(uri))
        if found is None:
            self.refused.append(str(uri)[:200])
            log.warning("brief: refused to load %r", str(uri)[:200])
            return str(self.images.directory / "refused.invalid")
        return str(found)

    def resolve(self, uri: str) -> Path | None:
        """The local file ``uri`` names, or None when it is not one of ours."""
        if uri.startswith(IMAGE_SCHEME):
            return self.images.path_for(uri)
        if uri.startswith("font:"):
            dirs = [d / "fonts" for d in self.template_dirs] + [FONTS_DIR]
            return _safe_lookup(dirs, uri[len("font:") :])
        if uri.startswith("asset:"):
            return _safe_lookup(self.template_dirs, uri[len("asset:") :])
        return None


def _safe_lookup(dirs: Sequence[Path], relative: str) -> Path | None:
    if not relative or relative.startswith(("/", "\\")) or "\\" in relative or "\0" in relative:
        return None
    if any(part in ("", ".", "..") for part in relative.split("/")):
        return None
    for base in dirs:
        candidate = (base / relative).resolve()
        if candidate.is_file() and candidate.is_relative_to(base.resolve()):
            return candidate
    return None


def html_to_pdf(
    html: str, template_dirs: Sequence[Path], images: ImageStore, *, exported_at: datetime
) -> bytes:
    """Convert the brief's HTML to PDF bytes, reading only the brief's own files."""
    import io

    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    callback = LinkCallback(template_dirs, images)
    policy = ResourceAccessPolicy(
        allow_remote=False,
        base_dir=None,
        extra_roots=callback.roots,
        max_image_pixels=MAX_IMAGE_PIXELS,
        max_render_seconds=MAX_RENDER_S,
    )
    out = io.BytesIO()
    register_tags()
    remember_font_digests()
    remember_font_files()
    passes.install()
    try:
        with deterministic_pdf(exported_at):
            status = pisa.CreatePDF(html, dest=out, link_callback=callback, resource_policy=policy)
    except Exception as exc:
        raise BriefError(f"the PDF renderer failed: {type(exc).__name__}: {exc}") from exc
    if status.err:
        raise BriefError(f"the PDF renderer reported {status.err} error(s); see the worker log")
    return out.getvalue()


@contextmanager
def deterministic_pdf(exported_at: datetime) -> Iterator[None]:
    """Make ReportLab's output a function of its input and ``exported_at``.

    ReportLab stamps each PDF with the wall clock, and its document ID hashes
    that stamp: both are pinned to ``exported_at`` (invariant mode, plus the
    stamp itself). xhtml2pdf's table of contents draws each entry in one font;
    entries get the CJK font for CJK runs. Both are process-wide settings, so
    they are changed and restored under a lock.
    """
    from reportlab import rl_config
    from reportlab.pdfbase import pdfdoc
    from xhtml2pdf import context as pisa_context

    epoch = _utc(exported_at).timestamp()

    def stamp(invariant: object = None) -> Any:
        from reportlab.lib.utils import TimeStamp

        fixed = TimeStamp(invariant=1)
        fixed.t = epoch
        fixed.lt = _utc(exported_at).timetuple()
        fixed.YMDhms = tuple(fixed.lt)[:6]
        return fixed

    with _RENDER_LOCK:
        saved = (rl_config.invariant, pdfdoc.TimeStamp, pisa_context.PmlTableOfContents)
        rl_config.invariant = 1
        pdfdoc.TimeStamp = stamp
        pisa_context.PmlTableOfContents = _script_aware_toc(saved[2])
        try:
            yield
        finally:
            rl_config.invariant, pdfdoc.TimeStamp, pisa_context.PmlTableOfContents = saved


@lru_cache(maxsize=1)
def register_tags() -> None:
    """Teach xhtml2pdf `<pdf:condpagebreak height="70mm"/>`: a new page only when less
    than `height` is left on this one (ReportLab's CondPageBreak), so short chapters flow
    on instead of each opening a page. Registered once per process; idempotent."""
    from reportlab.platypus.flowables import CondPageBreak
    from xhtml2pdf import parser
    from xhtml2pdf.default import MUST, SIZE, TAGS
    from xhtml2pdf.tags import pisaTag

    # xhtml2pdf looks a tag's class up by this name in its parser module.
    class pisaTagPDFCONDPAGEBREAK(pisaTag):  # type: ignore[misc]
        def start(self, c: Any) -> None:
            c.addPara()
            c.addStory(CondPageBreak(self.attr.height))

    TAGS["pdfcondpagebreak"] = (0, {"height": (SIZE, MUST)})
    parser.pisaTagPDFCONDPAGEBREAK = pisaTagPDFCONDPAGEBREAK


#: The ReportLab name xhtml2pdf gives the regular face of the CSS family ``briefcjk``
#: (``@font-face`` in brief.css): the family, lowercased, plus ``_<bold><italic>``.
CJK_FONT_NAME = "briefcjk_00"


@lru_cache(maxsize=4)
def _script_aware_toc(base: type[Any]) -> type[Any]:
    """xhtml2pdf's table of contents, with CJK runs of an entry set in the CJK font."""

    class ScriptAwareTOC(base):  # type: ignore[misc]
        def addEntry(self, level: int, text: str, pageNum: int, key: object = None) -> None:
            super().addEntry(level, _toc_markup(text), pageNum, key)

    return ScriptAwareTOC


def _toc_markup(escaped: str) -> str:
    # The entry is already escaped ReportLab paragraph markup; entities are ASCII,
    # so wrapping non-ASCII runs cannot split one.
    from reportlab.pdfbase.pdfmetrics import getRegisteredFontNames

    if CJK_FONT_NAME not in getRegisteredFontNames():
        return escaped  # a template without the CJK font: nothing to switch to
    parts = []
    for run in font_runs(escaped):
        if run.cls == CJK_CLASS:
            parts.append(f'<font face="{CJK_FONT_NAME}">{run.text}</font>')
        else:
            parts.append(run.text)
    return "".join(parts)
