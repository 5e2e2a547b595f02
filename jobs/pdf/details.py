"""The "Project details" of a brief: the project's other fields, as a reader understands them.

- labels are the field names turned into words (`runtimeMinutes` → "Runtime minutes");
- a related document is its title (`{"id", "title"}`); relations Payload gave only as ids
  (records are read at depth 0, so users never come) are left out: an id tells a client
  nothing;
- dates are formatted in the brief's language; yes/no in words;
- a timeline (`{"clips": [...], "titles": [...]}`) is a list: clip, in → out, transition;
- other rows and objects are short lists of "label: value", never nested tables (xhtml2pdf
  overprints a table nested in a table cell), and every value is cut at `MAX_VALUE_CHARS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from cms_client import Media, Project
from jobs.lexical.html import lexical_html, text_html
from jobs.pdf.labels import Labels

#: Generic values are cut here so one huge JSON field cannot fill a page.
MAX_VALUE_CHARS = 600
#: Rows of a list field shown (the rest are counted).
MAX_ROWS = 50
#: Nesting shown inside a row; deeper values are summarised as JSON text.
MAX_DEPTH = 2
#: Fields the brief shows elsewhere (cover, summary, media appendix) or never.
SKIP_FIELDS = frozenset(
    {"id", "title", "logline", "summary", "coverImage", "media", "scripts", "createdAt",
     "updatedAt", "_status", "slug", "team", "crew", "credits"}
)  # fmt: skip
#: Fields naming the people of a project, shown on the cover.
TEAM_FIELDS = ("team", "crew", "credits")
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def detail_rows(project: Project, labels: Labels) -> list[dict[str, Any]]:
    """`{"label", "value"}` for each field worth showing, in Payload's order."""
    names = {str(m.id): m for m in project.own_media()}
    rows = []
    for key, value in project.to_json().items():
        if key in SKIP_FIELDS or _is_empty(value) or _only_ids(value):
            continue
        if key == "timeline" or _is_timeline(value):
            shown = timeline_html(value, labels, names)
        else:
            shown = value_html(value, labels)
        if shown:
            rows.append({"key": key, "label": field_label(key, labels), "value": shown})
    return rows


def field_label(key: str, labels: Labels) -> str:
    """A field's label: the brief's own word for known fields, else its name in words."""
    return labels["timeline"] if key == "timeline" else humanize(key)


def humanize(key: str) -> str:
    """`releaseDate` / `release_date` → `Release date`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").split()
    return " ".join(words).capitalize() if words else key


def value_html(value: object, labels: Labels, depth: int = 0) -> Markup:
    """A field value as safe HTML: rich text, a list, or text."""
    if isinstance(value, Mapping) and isinstance(value.get("root"), Mapping):
        return lexical_html(value)
    if isinstance(value, list):
        return _list_html(value, labels, depth)
    if isinstance(value, Mapping) and not _is_reference(value):
        return _pairs_html(value, labels, depth) if depth < MAX_DEPTH else text_html(_cut(value))
    return text_html(scalar_text(value, labels))


def scalar_text(value: object, labels: Labels) -> str:
    """A single value as words: a reference's title, a date, yes/no, or the value."""
    if isinstance(value, bool):
        return labels["yes"] if value else labels["no"]
    if _is_reference(value):
        return str(value["title"])  # type: ignore[index]
    if isinstance(value, Mapping) and "filename" in value:
        return str(value.get("filename") or "")
    if isinstance(value, str) and _ISO_DATE.match(value):
        return _date(value, labels)
    return _cut(value)


def team_lines(project: Project) -> list[str]:
    """The people the project names in a `team`/`crew`/`credits` field: "Name — role"."""
    fields = project.other_fields
    for key in TEAM_FIELDS:
        value = fields.get(key)
        if isinstance(value, list) and value:
            return [line for line in map(_person, value[:MAX_ROWS]) if line]
    return []


def timeline_html(value: object, labels: Labels, media: Mapping[str, Media]) -> Markup:
    """A timeline as a list: "Clip 1 — still.png, 0:00 → 0:02, fade"; titles after it."""
    if not isinstance(value, Mapping):
        return value_html(value, labels)
    items: list[str] = []
    for index, clip in enumerate(_rows(value.get("clips"))[:MAX_ROWS], start=1):
        items.append(_clip_line(index, clip, labels, media))
    for title in _rows(value.get("titles"))[:MAX_ROWS]:
        items.append(
            labels["title_card"].format(
                text=_cut(title.get("text", "")),
                at=seconds_text(title.get("at", 0)),
                duration=seconds_text(title.get("duration", 0)),
            )
        )
    return _ul(items) if items else Markup("")


def seconds_text(value: object) -> str:
    """`2` → `0:02`, `83.5` → `1:23.5`; anything else as written."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return _cut(value)
    minutes, seconds = divmod(float(value), 60)
    whole = f"{int(minutes)}:{int(seconds):02d}"
    fraction = round(seconds - int(seconds), 2)
    return f"{whole}{str(fraction)[1:]}" if fraction else whole


def _clip_line(
    index: int, clip: Mapping[str, Any], labels: Labels, media: Mapping[str, Media]
) -> str:
    item = media.get(str(clip.get("mediaId")))
    name = (item.filename or item.alt) if item else None
    parts = [name or f"media {clip.get('mediaId')}"]
    if "in" in clip or "out" in clip:
        parts.append(f"{seconds_text(clip.get('in', 0))} → {seconds_text(clip.get('out', 0))}")
    if clip.get("transition"):
        parts.append(_cut(clip["transition"]))
    return f"{labels['clip'].format(n=index)} — {', '.join(parts)}"


def _list_html(values: Sequence[Any], labels: Labels, depth: int) -> Markup:
    if all(not isinstance(v, Mapping | list) or _is_reference(v) for v in values):
        return text_html(", ".join(scalar_text(v, labels) for v in values[:MAX_ROWS]))
    items = [_row_text(v, labels, depth) for v in values[:MAX_ROWS]]
    if len(values) > MAX_ROWS:
        items.append(f"… {len(values) - MAX_ROWS} more")
    return _ul(items)


def _pairs_html(value: Mapping[str, Any], labels: Labels, depth: int) -> Markup:
    return _ul([_row_text(value, labels, depth)])


def _row_text(row: object, labels: Labels, depth: int) -> str:
    """One row as "Label: value · Label: value" (ids and empty values left out)."""
    if not isinstance(row, Mapping):
        return scalar_text(row, labels) if not isinstance(row, list) else _cut(row)
    if _is_reference(row):
        return scalar_text(row, labels)
    pairs = []
    for key, value in row.items():
        if key == "id" or _is_empty(value):
            continue
        if isinstance(value, Mapping | list) and not _is_reference(value):
            text = _cut(value) if depth + 1 >= MAX_DEPTH else _row_text(value, labels, depth + 1)
        else:
            text = scalar_text(value, labels)
        pairs.append(f"{humanize(key)}: {text}")
    return " · ".join(pairs)


def _person(value: object) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        return ""
    name = value.get("name") or value.get("title")
    role = value.get("role") or value.get("job")
    if not isinstance(name, str) or not name:
        return ""
    return f"{name} — {role}" if isinstance(role, str) and role else name


def _ul(items: Sequence[str]) -> Markup:
    inner = Markup("").join(Markup("<li>{}</li>").format(text_html(item)) for item in items)
    return Markup('<ul class="detail-list">{}</ul>').format(inner)


def _rows(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _is_timeline(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("clips"), list)


def _is_reference(value: object) -> bool:
    return isinstance(value, Mapping) and set(value) == {"id", "title"}


def _only_ids(value: object) -> bool:
    """A relation Payload gave as bare ids (depth 0): a list of numbers."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _date(value: str, labels: Labels) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return labels.date(moment)


def _cut(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + " …"
