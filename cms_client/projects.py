"""Reading a project, its scripts and its media from Payload as records.

Everything is read at depth 0, so Payload populates no relation (users included): the
project by id, its scripts by their `project` relation, and the media it lists by id
from the media collection, a hundred ids a request.

    project = read_project(client, 17, collections=settings.collections)
    scripts = read_scripts(client, project, collections=settings.collections)
    project, scripts = read_project_and_scripts(client, 17, collections=settings.collections)

The last asks for the scripts beside the project and its media (they are found by the
project's id), a round trip less than the first two one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from cms_client.client import PayloadClient
from cms_client.errors import CMSBadResponse
from cms_client.reading import PUBLISHED, Reading
from cms_client.records import (
    DocId,
    Media,
    Project,
    Script,
    media_from_doc,
    media_ids_of,
    project_from_doc,
    script_from_doc,
)

#: Media ids asked for in one request (Payload parses up to 1000 array items a query).
MEDIA_IDS_PER_REQUEST = 100


class CollectionSlugs(Protocol):
    """The collection slugs read (`app.settings.Collections` is one)."""

    @property
    def projects(self) -> str: ...

    @property
    def scripts(self) -> str: ...

    @property
    def media(self) -> str: ...


def read_project(
    client: PayloadClient,
    project_id: DocId,
    *,
    collections: CollectionSlugs,
    reading: Reading = PUBLISHED,
) -> Project:
    """The project and the media it lists (cover and `media`), as these credentials see them.

    `reading` chooses the locale and the version (draft or published) of the project.
    """
    doc = client.get(collections.projects, project_id, depth=0, reading=reading)
    media = read_media(client, media_ids_of(doc), collection=collections.media)
    return project_from_doc(doc, media, media_collection=collections.media)


def read_scripts(
    client: PayloadClient,
    project: Project,
    *,
    collections: CollectionSlugs,
    reading: Reading = PUBLISHED,
) -> list[Script]:
    """Every script/story artifact linked to the project, in their `order`."""
    docs = _script_docs(client, project.id, collections=collections, reading=reading)
    return [script_from_doc(doc, project, media_collection=collections.media) for doc in docs]


def read_project_and_scripts(
    client: PayloadClient,
    project_id: DocId,
    *,
    collections: CollectionSlugs,
    reading: Reading = PUBLISHED,
) -> tuple[Project, list[Script]]:
    """`read_project` and `read_scripts` in one, the scripts read while the project is."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scripts") as pool:
        script_docs = pool.submit(
            _script_docs, client, project_id, collections=collections, reading=reading
        )
        project = read_project(client, project_id, collections=collections, reading=reading)
        docs = script_docs.result()
    scripts = [script_from_doc(doc, project, media_collection=collections.media) for doc in docs]
    return project, scripts


def _script_docs(
    client: PayloadClient, project_id: DocId, *, collections: CollectionSlugs, reading: Reading
) -> list[dict[str, Any]]:
    pages = client.find_all(
        collections.scripts,
        where={"project": {"equals": project_id}},
        sort="order",
        depth=0,
        reading=reading,
    )
    return list(pages)  # every page read here, on the thread that asked


def read_media(client: PayloadClient, ids: Sequence[DocId], *, collection: str) -> list[Media]:
    """The media items with these ids that Payload returns (missing ones are left out)."""
    found: list[Media] = []
    for start in range(0, len(ids), MEDIA_IDS_PER_REQUEST):
        chunk = list(ids[start : start + MEDIA_IDS_PER_REQUEST])
        body = client.find(collection, where={"id": {"in": chunk}}, depth=0, limit=len(chunk))
        docs = body.get("docs")
        if not isinstance(docs, list):
            raise CMSBadResponse(f"Payload's answer listing {collection} has no 'docs' list")
        found += [media_from_doc(doc) for doc in docs if isinstance(doc, dict)]
    return found
