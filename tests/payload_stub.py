"""A stand-in for Payload's REST API on `responses`, shaped like Payload 3's answers.

It keeps documents in memory so a test can follow an export from submission to the
uploaded Media document. Requests it has no route for fail loudly (responses raises
ConnectionError), and every request is kept in `calls` for assertions.
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses
from PIL import Image
from requests import PreparedRequest
from requests_toolbelt.multipart.decoder import MultipartDecoder

BASE_URL = "http://payload.test"
SERVICE_KEY = "service-key-0123456789"
EDITOR_KEY = "editor-key-0123456789"
OUTSIDER_KEY = "outsider-key-0123456789"
GUEST_KEY = "guest-key-0123456789"

NOT_ALLOWED = {"errors": [{"message": "You are not allowed to perform this action."}]}
NOT_FOUND = {"errors": [{"message": "Not Found"}]}
INVALID_PROJECT = {
    "errors": [
        {
            "name": "ValidationError",
            "message": "The following field is invalid: project",
            "data": {"errors": [{"path": "project", "message": "This relationship is invalid."}]},
        }
    ]
}

Reply = tuple[int, dict[str, str], str | bytes]  # JSON text, or a media file's bytes
#: A document id: a number (SQLite, Postgres) or a string (MongoDB, uuid ids), as in Payload.
DocId = int | str

#: Relationship fields and the collection each points to. Like Payload, the stub populates
#: them for `depth` >= 1 (its default is Payload's, 2) and leaves ids at depth 0; a
#: populated user is the whole record Payload would send (email, roles, API-key flags).
RELATIONS: dict[str, dict[str, str]] = {
    "projects": {"coverImage": "media", "media": "media", "editors": "users"},
    "scripts": {"project": "projects"},
}


def auth_header(key: str) -> str:
    return f"users API-Key {key}"


@dataclass
class PayloadStub:
    """Payload's collections in memory, with access rules like the dev Payload's."""

    mock: responses.RequestsMock | None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: dict[str, dict[DocId, dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    updates: list[tuple[DocId, dict[str, Any]]] = field(default_factory=list)
    next_id: int = 100
    down: bool = False
    #: Like Payload on SQLite or Postgres: ids are numbers; a lookup by a non-numeric id
    #: fails inside Payload (500) and a relationship to a numeric string is invalid (400).
    numeric_ids: bool = False

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, key: str, user_id: int, email: str, roles: list[str]) -> None:
        self.users[key] = {"id": user_id, "email": email, "roles": roles, "collection": "users"}

    def add(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        doc = {
            "createdAt": "2026-11-25T10:00:00.000Z",
            "updatedAt": "2026-11-25T10:00:00.000Z",
            **doc,
        }
        if "id" not in doc:
            doc["id"] = self._new_id()
        self.collections.setdefault(collection, {})[doc["id"]] = doc
        return doc

    def add_media_file(
        self, filename: str, content: bytes, mime_type: str, **extra: Any
    ) -> dict[str, Any]:
        self.files[filename] = content
        return self.add(
            "media",
            {
                "filename": filename,
                "mimeType": mime_type,
                "filesize": len(content),
                "url": f"/api/media/file/{filename}",
                **extra,
            },
        )

    def add_lost_media(self, project_id: int) -> dict[str, Any]:
        """A media item the project lists whose file has gone (its download answers 404)."""
        lost = self.add(
            "media",
            {
                "filename": "lost.png",
                "mimeType": "image/png",
                "filesize": 10,
                "url": "/api/media/file/lost.png",
            },
        )
        self.collections["projects"][project_id]["media"].append(lost["id"])
        return lost

    def docs(self, collection: str) -> list[dict[str, Any]]:
        return list(self.collections.get(collection, {}).values())

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- routing -------------------------------------------------------------------------

    def install(self) -> None:
        assert self.mock is not None
        api = re.compile(rf"^{re.escape(BASE_URL)}/api/.*")
        for method in ("GET", "POST", "PATCH"):
            self.mock.add_callback(method, api, callback=self._dispatch)

    def _dispatch(self, request: PreparedRequest) -> Reply:
        if self.down:
            raise requests.ConnectionError("payload stub is down")
        parts = urlsplit(request.url or "")
        segments = [s for s in parts.path.split("/")[2:] if s]
        query = dict(parse_qsl(parts.query))
        user = self._user_of(request)
        if user == "bad-key":
            return _json(403, NOT_ALLOWED)
        if segments[:2] == ["media", "file"] and request.method == "GET":
            return self._file(segments[2], user)
        if segments == ["users", "me"]:
            return _json(200, {"user": user, "collection": "users" if user else None})
        handler = {
            ("GET", 1): self._find,
            ("GET", 2): self._get,
            ("POST", 1): self._create,
            ("PATCH", 2): self._update,
        }.get((request.method or "", len(segments)))
        if handler is None:
            return _json(404, NOT_FOUND)
        return handler(request, segments, query, user)

    def _user_of(self, request: PreparedRequest) -> dict[str, Any] | str | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        match = re.match(r"^users API-Key (\S+)$", header)
        if not match or match.group(1) not in self.users:
            return "bad-key"
        return self.users[match.group(1)]

    # -- access --------------------------------------------------------------------------

    def can_read(self, user: Any, collection: str, doc: dict[str, Any]) -> bool | None:
        """True to allow, None for "not found" (a where-constraint), False for 403."""
        if not isinstance(user, dict):
            return False
        roles = user["roles"]
        if "admin" in roles or "export-service" in roles:
            return True
        if "guest" in roles:
            return False
        if collection == "projects":
            return user["id"] in doc.get("editors", []) or None
        if collection == "scripts":
            project_id = doc.get("project")
            project = None if project_id is None else self.collections["projects"].get(project_id)
            return bool(project and user["id"] in project.get("editors", [])) or None
        return True

    # -- handlers ------------------------------------------------------------------------

    def _get(
        self, request: PreparedRequest, segments: list[str], query: dict[str, str], user: Any
    ) -> Reply:
        collection, raw_id = segments
        if self.numeric_ids and not raw_id.isdigit():
            return _json(500, {"errors": [{"message": "Something went wrong."}]})
        doc = self.collections.get(collection, {}).get(_as_id(raw_id))
        if doc is None:
            return _json(404, NOT_FOUND)
        allowed = self.can_read(user, collection, doc)
        if allowed is False:
            return _json(403, NOT_ALLOWED)
        if allowed is None:
            return _json(404, NOT_FOUND)
        return _json(200, self._populate(collection, doc, int(query.get("depth", "2"))))

    def _find(
        self, request: PreparedRequest, segments: list[str], query: dict[str, str], user: Any
    ) -> Reply:
        collection = segments[0]
        docs = [d for d in self.docs(collection) if self.can_read(user, collection, d)]
        for key, value in query.items():
            match = re.match(r"^where\[(\w+)\]\[equals\]$", key)
            if match:
                docs = [d for d in docs if str(d.get(match.group(1))) == value]
        for key, value in query.items():
            match = re.match(r"^where\[(\w+)\]\[(exists|less_than)\]$", key)
            if match and match.group(2) == "exists":
                wanted = value == "true"
                docs = [d for d in docs if (d.get(match.group(1)) is not None) == wanted]
            elif match:  # ISO timestamps compare as strings
                docs = [d for d in docs if str(d.get(match.group(1)) or "") < value]
        wanted_in: dict[str, set[str]] = {}
        for key, value in query.items():
            match = re.match(r"^where\[(\w+)\]\[in\]\[\d+\]$", key)
            if match:
                wanted_in.setdefault(match.group(1), set()).add(value)
        for name, values in wanted_in.items():
            docs = [d for d in docs if str(d.get(name)) in values]
        if query.get("sort"):
            docs.sort(key=lambda d: d.get(query["sort"]) or 0)
        limit, page = int(query.get("limit", "10")), int(query.get("page", "1"))
        chunk = docs[(page - 1) * limit : page * limit]
        total_pages = max(1, -(-len(docs) // limit))
        return _json(
            200,
            {
                "docs": [
                    self._populate(collection, d, int(query.get("depth", "2"))) for d in chunk
                ],
                "totalDocs": len(docs),
                "limit": limit,
                "page": page,
                "totalPages": total_pages,
                "hasNextPage": page < total_pages,
                "nextPage": page + 1 if page < total_pages else None,
                "hasPrevPage": page > 1,
                "prevPage": page - 1 if page > 1 else None,
            },
        )

    def _create(
        self, request: PreparedRequest, segments: list[str], query: dict[str, str], user: Any
    ) -> Reply:
        collection = segments[0]
        if not isinstance(user, dict):
            return _json(403, NOT_ALLOWED)
        if collection == "media":
            return self._upload(request)
        data = json.loads(request.body or b"{}")
        if self.numeric_ids and isinstance(data.get("project"), str):
            return _json(400, INVALID_PROJECT)
        doc = self.add(collection, data)
        return _json(201, {"doc": doc, "message": f"{collection} successfully created."})

    def _update(
        self, request: PreparedRequest, segments: list[str], query: dict[str, str], user: Any
    ) -> Reply:
        collection, raw_id = segments
        if self.numeric_ids and not raw_id.isdigit():
            return _json(500, {"errors": [{"message": "Something went wrong."}]})
        doc = self.collections.get(collection, {}).get(_as_id(raw_id))
        if doc is None:
            return _json(404, NOT_FOUND)
        if not isinstance(user, dict):
            return _json(403, NOT_ALLOWED)
        data = json.loads(request.body or b"{}")
        doc.update(data)
        self.updates.append((doc["id"], data))
        return _json(200, {"doc": doc, "message": "Updated successfully."})

    def _upload(self, request: PreparedRequest) -> Reply:
        # Typed bytes | str | None, but a streamed upload (requests-toolbelt's
        # MultipartEncoder, as cms_client sends files) is the file-like object itself.
        body: object = request.body
        raw = body.read() if hasattr(body, "read") else body
        decoder = MultipartDecoder(raw, request.headers["Content-Type"])
        fields: dict[str, Any] = {}
        for part in decoder.parts:
            disposition = part.headers[b"Content-Disposition"].decode()
            name = re.search(r'name="([^"]+)"', disposition).group(1)  # type: ignore[union-attr]
            filename = re.search(r'filename="([^"]+)"', disposition)
            if filename:
                fields["file"] = (
                    filename.group(1),
                    part.content,
                    part.headers[b"Content-Type"].decode(),
                )
            else:
                fields[name] = part.text
        filename, content, mime_type = fields["file"]
        extra = json.loads(fields.get("_payload", "{}"))
        doc = self.add_media_file(filename, content, mime_type, **extra)
        return _json(201, {"doc": doc, "message": "Media successfully created."})

    def _file(self, filename: str, user: Any) -> Reply:
        if not isinstance(user, dict):
            return _json(403, NOT_ALLOWED)
        if filename not in self.files:
            return _json(404, NOT_FOUND)
        content = self.files[filename]
        return 200, {"Content-Length": str(len(content))}, content

    def _populate(self, collection: str, doc: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth < 1:
            return doc
        populated = dict(doc)
        for name, target in RELATIONS.get(collection, {}).items():
            value = doc.get(name)
            if isinstance(value, list):
                populated[name] = [self._related(target, v, depth - 1) for v in value]
            elif value is not None:
                populated[name] = self._related(target, value, depth - 1)
        return populated

    def _related(self, collection: str, value: Any, depth: int) -> Any:
        if collection == "users":
            return self.user_record(value) or value
        doc = self.collections.get(collection, {}).get(value)
        return value if doc is None else self._populate(collection, doc, depth)

    def user_record(self, user_id: Any) -> dict[str, Any] | None:
        """A user as Payload populates one into a relation."""
        for key, user in self.users.items():
            if user["id"] == user_id:
                return {
                    "id": user_id,
                    "email": user["email"],
                    "roles": user["roles"],
                    "enableAPIKey": True,
                    "apiKey": key,
                    "loginAttempts": 0,
                    "createdAt": "2026-11-01T09:00:00.000Z",
                    "updatedAt": "2026-11-01T09:00:00.000Z",
                }
        return None


def _as_id(raw: str) -> int | str:
    return int(raw) if raw.isdigit() else raw


def _json(status: int, body: Any) -> Reply:
    # Payload (Node) writes documents of any depth; so does the stub, for hostile ones.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        return status, {"Content-Type": "application/json"}, json.dumps(body)
    finally:
        sys.setrecursionlimit(limit)


# -- sample content ------------------------------------------------------------------------


def png_bytes(width: int = 64, height: int = 48, color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def lexical(*paragraphs: str) -> dict[str, Any]:
    """A Lexical rich-text value with one paragraph per string, as Payload stores it."""
    return {
        "root": {
            "type": "root",
            "version": 1,
            "children": [
                {
                    "type": "paragraph",
                    "version": 1,
                    "children": [{"type": "text", "text": text, "format": 0, "version": 1}],
                }
                for text in paragraphs
            ],
        }
    }


#: What a user record would bring into an export: the seed users' emails and its fields.
USER_TRACES = (
    "export-service@example.com",
    "editor@example.com",
    "outsider@example.com",
    "guest@example.com",
    "apiKey",
    "loginAttempts",
    "roles",
)


def upload_node(media_id: int) -> dict[str, Any]:
    """A Lexical upload node as Payload stores it (depth 0: the media id)."""
    return {"type": "upload", "relationTo": "media", "value": media_id, "version": 3}


def add_rich_text_uploads(stub: PayloadStub) -> dict[str, Any]:
    """Project 17's still and another project's image, in its summary and first script.

    Returns the other project's image.
    """
    project = stub.collections["projects"][17]
    still = next(d for d in stub.docs("media") if d["filename"] == "still.png")
    other = stub.add_media_file(
        "other-project-secret.png", png_bytes(color="red"), "image/png", alt="Secret plans"
    )
    for body in (project["summary"], stub.docs("scripts")[0]["body"]):
        body["root"]["children"] += [upload_node(still["id"]), upload_node(other["id"])]
    return other


def seed(stub: PayloadStub) -> None:
    """Users, project 17 (the editor's) with two images, and three scripts."""
    stub.add_user(SERVICE_KEY, 1, "export-service@example.com", ["export-service"])
    stub.add_user(EDITOR_KEY, 2, "editor@example.com", ["editor"])
    stub.add_user(OUTSIDER_KEY, 3, "outsider@example.com", ["editor"])
    stub.add_user(GUEST_KEY, 4, "guest@example.com", ["guest"])
    cover = stub.add_media_file(
        "cover.png", png_bytes(), "image/png", width=64, height=48, alt="Cover"
    )
    still = stub.add_media_file(
        "still.png", png_bytes(color="teal"), "image/png", width=64, height=48, alt="Still"
    )
    stub.add(
        "projects",
        {
            "id": 17,
            "title": "The Lighthouse Keeper",
            "logline": "A keeper finds a message in the lamp.",
            "summary": lexical("The storm arrives on the third night."),
            "coverImage": cover["id"],
            "media": [cover["id"], still["id"]],
            "timeline": {"clips": []},
            "editors": [2],
        },
    )
    for order, kind in enumerate(("script", "story", "treatment"), start=1):
        stub.add(
            "scripts",
            {
                "title": f"Draft {order}: {kind}",
                "project": 17,
                "kind": kind,
                "order": order,
                "body": lexical(f"This is the {kind} of the keeper."),
            },
        )
