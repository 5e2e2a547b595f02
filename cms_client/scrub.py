"""What a record may carry of a Payload value: no populated document, no foreign upload.

Field values (rich text included) are copied through `Scrubber.scrub`, which

- reduces every populated document (an object with an `id` and Payload's timestamps, as
  Payload embeds a relation deeper than depth 0) to a reference: `{"id", "title"}` when it
  has a title, its bare id otherwise, so a user's email, roles or API-key flags can never
  ride along;
- keeps a rich-text `upload` node only when it names one of the project's own media, with
  the node's `value` replaced by that media record's JSON; an upload naming any other
  media item becomes a visible placeholder paragraph (`FOREIGN_UPLOAD_TEXT`).

The copy is made with an explicit stack, so a hostile document nested deeper than Python's
recursion limit is still copied whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cms_client.records import DocId, Media

#: The text shown instead of a rich-text upload that is not one of the project's media.
FOREIGN_UPLOAD_TEXT = "[image not part of this project]"
#: Lexical's italic text format bit.
_ITALIC = 2
_TIMESTAMPS = ("createdAt", "updatedAt")


@dataclass(frozen=True)
class _Fixed:
    """A value placed in the copy as it is: the walk does not look inside it."""

    value: Any


class Scrubber:
    """Copies field values for one project, noting which of its media rich text embeds."""

    def __init__(
        self, media: Iterable[Media], *, missing_ids: Iterable[DocId] = (), media_collection: str
    ) -> None:
        self.media = {str(item.id): item for item in media}
        self.missing_ids = {str(media_id) for media_id in missing_ids}
        self.media_collection = media_collection
        self.embedded: dict[str, DocId] = {}

    def scrub(self, value: Any) -> Any:
        """A copy of a JSON value with relations reduced and uploads scoped to the project."""
        return _rewrite(value, self._object)

    def _object(self, node: Mapping[str, Any]) -> Mapping[str, Any] | _Fixed:
        if node.get("type") == "upload" and "value" in node:
            return self._upload(node)
        if "id" in node and any(stamp in node for stamp in _TIMESTAMPS):
            return _Fixed(reference_to(node))
        return node

    def _upload(self, node: Mapping[str, Any]) -> Mapping[str, Any] | _Fixed:
        media_id = id_of(node.get("value"))
        relation = node.get("relationTo", self.media_collection)
        if media_id is None or relation != self.media_collection:
            return _Fixed(foreign_upload_placeholder())
        media = self.media.get(str(media_id))
        if media is not None:
            self.embedded.setdefault(str(media.id), media.id)
            return {**node, "value": _Fixed(media.to_json())}
        if str(media_id) in self.missing_ids:  # the project's, but gone from Payload
            return {**node, "value": _Fixed(media_id)}
        return _Fixed(foreign_upload_placeholder())


def id_of(value: object) -> DocId | None:
    """The id of a relation value: the id itself (depth 0) or a populated document's."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    return None


def reference_to(doc: Mapping[str, Any]) -> Any:
    """A populated document reduced to `{"id", "title"}`, or to its id when it has no title."""
    title = doc.get("title")
    if isinstance(title, str) and title:
        return {"id": doc.get("id"), "title": title}
    return doc.get("id")


def foreign_upload_placeholder() -> dict[str, Any]:
    """A Lexical paragraph saying, in italics, that an upload was left out."""
    text = {"type": "text", "text": FOREIGN_UPLOAD_TEXT, "format": _ITALIC, "version": 1}
    return {"type": "paragraph", "version": 1, "children": [text]}


def _rewrite(value: Any, rewrite_object: Callable[[Mapping[str, Any]], Any]) -> Any:
    """A copy of a JSON value; `rewrite_object` may swap each object before it is copied."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        source, parent, key = stack.pop()
        if isinstance(source, Mapping):
            source = rewrite_object(source)
        if isinstance(source, _Fixed):
            parent[key] = source.value
        elif isinstance(source, Mapping):
            copy: dict[str, Any] = dict.fromkeys(source)
            parent[key] = copy
            stack.extend((item, copy, name) for name, item in source.items())
        elif isinstance(source, list):
            items: list[Any] = [None] * len(source)
            parent[key] = items
            stack.extend((item, items, index) for index, item in enumerate(source))
        else:
            parent[key] = source
    return root[0]
