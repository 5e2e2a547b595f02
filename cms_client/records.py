"""Typed records of what an export reads from Payload: a project, its scripts, its media.

They are built here, once, from Payload's REST documents, so no code outside cms_client
picks fields out of raw dicts. A record holds what exports use and nothing that Payload
would embed from elsewhere: relations are ids or `{"id", "title"}` references, never a
populated document, and rich text keeps its Lexical JSON with every `upload` node either
resolved to one of the project's own media (its cover and `media` field) or replaced by a
visible placeholder (`cms_client.scrub`).

    project = project_from_doc(doc, media, media_collection="media")
    project.cover, project.own_media(), project.to_json()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cms_client.errors import CMSBadResponse
from cms_client.scrub import Scrubber, id_of

DocId = int | str
#: A JSON value as Payload stores it (rich text is Lexical JSON: `{"root": {...}}`).
JSON = Any

_PROJECT_FIELDS = frozenset(
    {"id", "title", "logline", "summary", "coverImage", "media", "timeline", "createdAt",
     "updatedAt", "_status"}
)  # fmt: skip
_SCRIPT_FIELDS = frozenset(
    {"id", "title", "project", "kind", "order", "body", "createdAt", "updatedAt", "_status"}
)


@dataclass(frozen=True)
class Media:
    """A media item: what its file is and where Payload serves it."""

    id: DocId
    filename: str | None = None
    mime_type: str | None = None
    filesize: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    alt: str | None = None
    url: str | None = None
    updated_at: str | None = None

    @property
    def kind(self) -> str:
        """The MIME type's major part: `video`, `image`, `audio`, … (empty when unknown)."""
        return (self.mime_type or "").split("/", 1)[0]

    @property
    def label(self) -> str:
        """How a sentence names it: `media 42 (trailer.mov)`."""
        return f"media {self.id} ({self.filename or 'no filename'})"

    def to_json(self) -> dict[str, JSON]:
        """The record with Payload's field names."""
        return {
            "id": self.id,
            "filename": self.filename,
            "mimeType": self.mime_type,
            "filesize": self.filesize,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "alt": self.alt,
            "url": self.url,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True)
class Project:
    """A project, its own media, and its other fields (relations as ids or references)."""

    id: DocId
    title: str | None
    logline: str | None
    summary: JSON
    cover: Media | None
    media: tuple[Media, ...]
    timeline: JSON
    created_at: str | None
    updated_at: str | None
    #: Every field not above, in Payload's order.
    other_fields: Mapping[str, JSON] = field(default_factory=dict)
    #: Media the project lists that Payload did not return (deleted, or not readable).
    missing_media_ids: tuple[DocId, ...] = ()
    #: The project's media its rich text shows, by id.
    uploads: tuple[DocId, ...] = ()
    #: The order of the document's fields, so `to_json` reads like Payload's answer.
    field_order: tuple[str, ...] = ()
    #: Payload's `_status` (`draft`/`published`) where the collection has drafts, else None.
    status: str | None = None

    def own_media(self) -> tuple[Media, ...]:
        """The cover, then the `media` items, each once."""
        found: dict[str, Media] = {}
        for item in (self.cover, *self.media):
            if item is not None:
                found.setdefault(str(item.id), item)
        return tuple(found.values())

    def to_json(self) -> dict[str, JSON]:
        """The project with Payload's field names; its media as records, users never."""
        typed = {
            "id": self.id,
            "title": self.title,
            "logline": self.logline,
            "summary": self.summary,
            "coverImage": self.cover.to_json() if self.cover else None,
            "media": [item.to_json() for item in self.media],
            "timeline": self.timeline,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.status is not None:
            typed["_status"] = self.status
        return _in_order({**typed, **self.other_fields}, self.field_order)


@dataclass(frozen=True)
class Script:
    """A script, story, treatment or notes artifact of a project."""

    id: DocId
    project_id: DocId | None
    title: str | None
    kind: str | None
    order: int | None
    body: JSON
    created_at: str | None
    updated_at: str | None
    #: Every field not above, in Payload's order (other rich text included).
    other_fields: Mapping[str, JSON] = field(default_factory=dict)
    #: The project's media its rich text shows, by id.
    uploads: tuple[DocId, ...] = ()
    field_order: tuple[str, ...] = ()
    status: str | None = None

    def to_json(self) -> dict[str, JSON]:
        """The script with Payload's field names."""
        typed = {
            "id": self.id,
            "title": self.title,
            "project": self.project_id,
            "kind": self.kind,
            "order": self.order,
            "body": self.body,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.status is not None:
            typed["_status"] = self.status
        return _in_order({**typed, **self.other_fields}, self.field_order)


# -- from Payload's documents ---------------------------------------------------------


def media_from_doc(doc: Mapping[str, Any]) -> Media:
    """A media record from a document of the media collection (any depth)."""
    return Media(
        id=_required_id(doc, "media"),
        filename=_str(doc.get("filename")),
        mime_type=_str(doc.get("mimeType")),
        filesize=_int(doc.get("filesize")),
        width=_int(doc.get("width")),
        height=_int(doc.get("height")),
        duration=_float(doc.get("duration")),
        alt=_str(doc.get("alt")),
        url=_str(doc.get("url")),
        updated_at=_str(doc.get("updatedAt")),
    )


def media_ids_of(doc: Mapping[str, Any]) -> list[DocId]:
    """The ids of a project document's cover and `media` items, each once, in order."""
    unique: dict[str, DocId] = {}
    for value in (doc.get("coverImage"), *_list(doc.get("media"))):
        media_id = id_of(value)
        if media_id is not None:
            unique.setdefault(str(media_id), media_id)
    return list(unique.values())


def project_from_doc(
    doc: Mapping[str, Any], media: Iterable[Media], *, media_collection: str
) -> Project:
    """A project record from its document (read at depth 0) and the media it lists."""
    found = {str(item.id): item for item in media}
    listed = media_ids_of(doc)
    missing = [media_id for media_id in listed if str(media_id) not in found]
    own = [found[str(media_id)] for media_id in listed if str(media_id) in found]
    scrubber = Scrubber(own, missing_ids=missing, media_collection=media_collection)
    cover_id = id_of(doc.get("coverImage"))
    return Project(
        id=_required_id(doc, "project"),
        title=_str(doc.get("title")),
        logline=_str(doc.get("logline")),
        summary=scrubber.scrub(doc.get("summary")),
        cover=found.get(str(cover_id)) if cover_id is not None else None,
        media=tuple(_found(found, map(id_of, _list(doc.get("media"))))),
        timeline=scrubber.scrub(doc.get("timeline")),
        created_at=_str(doc.get("createdAt")),
        updated_at=_str(doc.get("updatedAt")),
        other_fields=_other_fields(doc, _PROJECT_FIELDS, scrubber),
        missing_media_ids=tuple(missing),
        uploads=tuple(scrubber.embedded.values()),
        field_order=tuple(doc),
        status=_str(doc.get("_status")),
    )


def script_from_doc(doc: Mapping[str, Any], project: Project, *, media_collection: str) -> Script:
    """A script record; its rich text may show only `project`'s own media."""
    scrubber = Scrubber(
        project.own_media(),
        missing_ids=project.missing_media_ids,
        media_collection=media_collection,
    )
    order = doc.get("order")
    return Script(
        id=_required_id(doc, "script"),
        project_id=id_of(doc.get("project")),
        title=_str(doc.get("title")),
        kind=_str(doc.get("kind")),
        order=order if isinstance(order, int) and not isinstance(order, bool) else None,
        body=scrubber.scrub(doc.get("body")),
        created_at=_str(doc.get("createdAt")),
        updated_at=_str(doc.get("updatedAt")),
        other_fields=_other_fields(doc, _SCRIPT_FIELDS, scrubber),
        uploads=tuple(scrubber.embedded.values()),
        field_order=tuple(doc),
        status=_str(doc.get("_status")),
    )


# -- helpers ----------------------------------------------------------------------------


def _other_fields(
    doc: Mapping[str, Any], typed: frozenset[str], scrubber: Scrubber
) -> Mapping[str, JSON]:
    other = {key: scrubber.scrub(value) for key, value in doc.items() if key not in typed}
    return MappingProxyType(other)


def _found(found: Mapping[str, Media], ids: Iterable[DocId | None]) -> Iterable[Media]:
    for media_id in ids:
        if media_id is not None and str(media_id) in found:
            yield found[str(media_id)]


def _in_order(values: dict[str, JSON], order: tuple[str, ...]) -> dict[str, JSON]:
    keys = [key for key in order if key in values]
    keys += [key for key in values if key not in keys]
    return {key: values[key] for key in keys}


def _required_id(doc: Mapping[str, Any], what: str) -> DocId:
    doc_id = id_of(doc.get("id"))
    if doc_id is None:
        raise CMSBadResponse(f"Payload returned a {what} document without an id")
    return doc_id


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
