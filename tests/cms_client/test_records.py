"""cms_client.records and cms_client.scrub: Payload documents in, records that embed no user."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cms_client import FOREIGN_UPLOAD_TEXT, CMSBadResponse
from cms_client.records import Media, media_from_doc, project_from_doc, script_from_doc
from tests.payload_stub import lexical

USER = {
    "id": 2,
    "email": "editor@example.com",
    "roles": ["editor"],
    "enableAPIKey": True,
    "apiKey": "editor-key-0123456789",
    "loginAttempts": 0,
    "createdAt": "2026-11-01T09:00:00.000Z",
    "updatedAt": "2026-11-01T09:00:00.000Z",
}
COVER = {
    "id": 11,
    "filename": "cover.png",
    "mimeType": "image/png",
    "filesize": 1234,
    "width": 64,
    "height": 48,
    "alt": "Cover",
    "url": "/api/media/file/cover.png",
    "focalX": 50,
    "exportOf": 17,
    "updatedAt": "2026-11-25T10:00:00.000Z",
}
STILL = {**COVER, "id": 12, "filename": "still.png", "alt": "Still"}


def upload(value: Any, relation: str = "media") -> dict[str, Any]:
    return {"type": "upload", "relationTo": relation, "value": value, "version": 3, "id": "n1"}


def with_nodes(*nodes: dict[str, Any]) -> dict[str, Any]:
    body = lexical("Before the picture.")
    body["root"]["children"].extend(nodes)
    return body


def project_doc(**fields: Any) -> dict[str, Any]:
    return {
        "id": 17,
        "title": "The Lighthouse Keeper",
        "logline": "A keeper finds a message.",
        "summary": lexical("The storm arrives."),
        "coverImage": 11,
        "media": [11, 12],
        "timeline": {"clips": []},
        "editors": [2],
        "createdAt": "2026-11-25T10:00:00.000Z",
        "updatedAt": "2026-11-25T11:00:00.000Z",
        **fields,
    }


def project(**fields: Any):
    media = [media_from_doc(COVER), media_from_doc(STILL)]
    return project_from_doc(project_doc(**fields), media, media_collection="media")


def leaks(value: Any) -> list[str]:
    text = json.dumps(value)
    return [
        word for word in ("editor@example.com", "apiKey", "loginAttempts", "roles") if word in text
    ]


# -- media ---------------------------------------------------------------------------------


def test_a_media_record_keeps_what_exports_use_with_payloads_names():
    media = media_from_doc(COVER)
    assert media == Media(
        id=11,
        filename="cover.png",
        mime_type="image/png",
        filesize=1234,
        width=64,
        height=48,
        alt="Cover",
        url="/api/media/file/cover.png",
        updated_at="2026-11-25T10:00:00.000Z",
    )
    assert media.kind == "image" and media.label == "media 11 (cover.png)"
    assert "exportOf" not in media.to_json() and media.to_json()["mimeType"] == "image/png"


def test_a_document_without_an_id_is_a_bad_response():
    with pytest.raises(CMSBadResponse, match="media document without an id"):
        media_from_doc({"filename": "x.png"})


# -- projects ------------------------------------------------------------------------------


def test_a_project_names_its_cover_and_media_and_keeps_other_fields_in_order():
    record = project(genre="Drama")
    assert record.cover == media_from_doc(COVER)
    assert [m.id for m in record.media] == [11, 12]
    assert [m.id for m in record.own_media()] == [11, 12]  # the cover once
    assert dict(record.other_fields) == {"editors": [2], "genre": "Drama"}
    assert list(record.to_json()) == list(project_doc(genre="Drama"))
    assert record.to_json()["coverImage"]["filename"] == "cover.png"


def test_populated_relations_are_reduced_to_ids_or_titles_never_records():
    related = {"id": 5, "title": "Season one", "secret": "x", "updatedAt": "2026-01-01"}
    record = project(
        editors=[USER],
        owner={"relationTo": "users", "value": USER},
        season=related,
        rows=[{"id": "r1", "milestone": "Draft"}],  # an array row, not a document
    )
    assert record.other_fields["editors"] == [2]
    assert record.other_fields["owner"] == {"relationTo": "users", "value": 2}
    assert record.other_fields["season"] == {"id": 5, "title": "Season one"}
    assert record.other_fields["rows"] == [{"id": "r1", "milestone": "Draft"}]
    assert leaks(record.to_json()) == []


def test_listed_media_payload_did_not_return_are_missing():
    record = project(media=[11, 12, 55])
    assert record.missing_media_ids == (55,)
    assert [m.id for m in record.media] == [11, 12]


# -- rich-text uploads ---------------------------------------------------------------------


def test_an_upload_of_the_projects_media_carries_its_record():
    record = project(summary=with_nodes(upload(12)))
    node = record.summary["root"]["children"][-1]
    assert node["type"] == "upload" and node["value"] == media_from_doc(STILL).to_json()
    assert record.uploads == (12,)


@pytest.mark.parametrize(
    "node",
    [
        upload(99),  # another media item
        upload({**STILL, "id": 99, "filename": "secret-plans.png"}),  # … populated
        upload(12, relation="documents"),  # another upload collection
        upload(None),
    ],
)
def test_an_upload_of_any_other_media_becomes_a_placeholder(node):
    record = project(summary=with_nodes(node))
    placeholder = record.summary["root"]["children"][-1]
    assert placeholder["type"] == "paragraph"
    assert placeholder["children"][0]["text"] == FOREIGN_UPLOAD_TEXT
    assert record.uploads == ()
    assert "secret-plans.png" not in json.dumps(record.to_json())


def test_an_upload_of_listed_but_missing_media_keeps_its_id():
    record = project(media=[11, 55], summary=with_nodes(upload(55)))
    assert record.summary["root"]["children"][-1]["value"] == 55


def test_uploads_nested_in_blocks_and_other_fields_are_scoped_too():
    block = {"type": "block", "fields": {"caption": with_nodes(upload(99), upload(11))}}
    record = project(notes=with_nodes(block))
    caption = record.other_fields["notes"]["root"]["children"][-1]["fields"]["caption"]
    first, second = caption["root"]["children"][-2:]
    assert first["children"][0]["text"] == FOREIGN_UPLOAD_TEXT
    assert second["value"]["id"] == 11
    assert record.uploads == (11,)


def test_a_hostile_deeply_nested_document_is_copied_without_recursion():
    deep: dict[str, Any] = upload(99)
    for _ in range(5000):
        deep = {"type": "paragraph", "children": [deep]}
    record = project(summary={"root": deep})
    node = record.summary["root"]
    while node["type"] == "paragraph" and node["children"][0].get("children"):
        node = node["children"][0]
    assert node["children"][0]["text"] == FOREIGN_UPLOAD_TEXT


# -- scripts -------------------------------------------------------------------------------


def test_a_script_shows_only_the_projects_media():
    doc = {
        "id": 3,
        "title": "Draft",
        "project": {
            "id": 17,
            "title": "The Lighthouse Keeper",
            "editors": [USER],
            "updatedAt": "2026-11-25T11:00:00.000Z",
        },
        "kind": "script",
        "order": 2,
        "body": with_nodes(upload(11), upload(99)),
        "notes": with_nodes(upload(12)),
        "author": USER,
        "updatedAt": "2026-11-25T12:00:00.000Z",
    }
    script = script_from_doc(doc, project(), media_collection="media")
    assert (script.id, script.project_id, script.kind, script.order) == (3, 17, "script", 2)
    own, foreign = script.body["root"]["children"][-2:]
    assert own["value"]["filename"] == "cover.png"
    assert foreign["children"][0]["text"] == FOREIGN_UPLOAD_TEXT
    assert set(script.uploads) == {11, 12}
    assert script.other_fields["author"] == 2
    assert script.to_json()["project"] == 17
    assert leaks(script.to_json()) == []
