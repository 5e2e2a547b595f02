"""Records from documents shaped like Payload's, for tests that need no stubbed Payload."""

from __future__ import annotations

from typing import Any

from cms_client.records import (
    Project,
    Script,
    media_from_doc,
    project_from_doc,
    script_from_doc,
)


def project_record(doc: dict[str, Any]) -> Project:
    """A project whose populated `coverImage`/`media` items are the media Payload returned.

    Items given as bare ids count as listed on the project but not found in Payload.
    """
    listed = [doc.get("coverImage"), *(doc.get("media") or [])]
    media = [media_from_doc(item) for item in listed if isinstance(item, dict)]
    return project_from_doc(doc, media, media_collection="media")


def script_records(docs: list[dict[str, Any]], project: Project) -> list[Script]:
    return [script_from_doc(doc, project, media_collection="media") for doc in docs]
