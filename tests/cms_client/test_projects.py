"""cms_client.projects: a project, its scripts and its media read at depth 0 from Payload."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from app.settings import Collections
from cms_client import (
    PayloadClient,
    read_media,
    read_project,
    read_project_and_scripts,
    read_scripts,
)
from tests.payload_stub import BASE_URL, SERVICE_KEY, PayloadStub, auth_header

SEED_USER_EMAILS = (
    "export-service@example.com",
    "editor@example.com",
    "outsider@example.com",
    "guest@example.com",
)


def service_client() -> PayloadClient:
    return PayloadClient(BASE_URL, authorization=auth_header(SERVICE_KEY))


def api_calls(payload: PayloadStub) -> list[tuple[str, dict[str, str]]]:
    calls = []
    for call in payload.mock.calls:
        parts = urlsplit(call.request.url)
        calls.append((parts.path, dict(parse_qsl(parts.query))))
    return calls


def test_the_stub_populates_users_like_payload_at_depth_1(payload):
    """What reading at depth 1 would bring along, and what depth 0 does not."""
    deep = requests.get(
        f"{BASE_URL}/api/projects/17?depth=1",
        headers={"Authorization": auth_header(SERVICE_KEY)},
        timeout=5,
    ).json()
    assert deep["editors"][0]["email"] == "editor@example.com" and deep["editors"][0]["apiKey"]
    flat = requests.get(
        f"{BASE_URL}/api/projects/17?depth=0",
        headers={"Authorization": auth_header(SERVICE_KEY)},
        timeout=5,
    ).json()
    assert flat["editors"] == [2] and isinstance(flat["coverImage"], int)


def test_a_project_is_read_at_depth_0_with_its_media_in_one_request(payload):
    project = read_project(service_client(), 17, collections=Collections())

    assert project.title == "The Lighthouse Keeper"
    assert [m.filename for m in project.own_media()] == ["cover.png", "still.png"]
    assert project.other_fields["editors"] == [2]
    calls = api_calls(payload)
    assert [path for path, _ in calls] == ["/api/projects/17", "/api/media"]
    assert all(query["depth"] == "0" for _, query in calls)
    media_ids = {v for k, v in calls[1][1].items() if k.startswith("where[id][in]")}
    assert media_ids == {str(m.id) for m in project.own_media()}
    text = json.dumps(project.to_json())
    assert not [email for email in SEED_USER_EMAILS if email in text]


def test_scripts_are_read_at_depth_0_in_their_order(payload):
    client = service_client()
    project = read_project(client, 17, collections=Collections())
    scripts = read_scripts(client, project, collections=Collections())

    assert [s.order for s in scripts] == [1, 2, 3]
    assert [s.kind for s in scripts] == ["script", "story", "treatment"]
    assert all(s.project_id == 17 for s in scripts)
    path, query = api_calls(payload)[-1]
    assert path == "/api/scripts" and query["depth"] == "0"


def test_the_scripts_are_asked_for_while_the_project_is_read(payload, monkeypatch):
    """#18: a round trip less. Here the project's GET and the scripts' GET each wait for
    the other to arrive: only requests in flight together pass (one after the other, in
    either order, the first one fails)."""
    arrived = {"/api/projects/17": threading.Event(), "/api/scripts": threading.Event()}
    dispatch = payload._dispatch

    def answer(request: requests.PreparedRequest) -> Any:
        path = urlsplit(request.url or "").path
        if path in arrived and not arrived[path].is_set():
            arrived[path].set()
            other = next(event for name, event in arrived.items() if name != path)
            if not other.wait(2):
                return 500, {}, '{"errors": [{"message": "read one after the other"}]}'
        return dispatch(request)

    for route in payload.mock.registered():
        monkeypatch.setattr(route, "callback", answer)

    client = service_client()
    project, scripts = read_project_and_scripts(client, 17, collections=Collections())

    assert project == read_project(client, 17, collections=Collections())
    assert scripts == read_scripts(client, project, collections=Collections())
    assert [s.order for s in scripts] == [1, 2, 3]


def test_many_media_are_asked_for_a_hundred_ids_at_a_time(payload):
    ids = [doc["id"] for doc in payload.docs("media")] + list(range(5000, 5250))
    found = read_media(service_client(), ids, collection="media")

    assert {m.filename for m in found} == {"cover.png", "still.png"}
    media_calls = [query for path, query in api_calls(payload) if path == "/api/media"]
    assert [query["limit"] for query in media_calls] == ["100", "100", "52"]


def test_no_ids_no_request(payload):
    assert read_media(service_client(), [], collection="media") == []
    assert api_calls(payload) == []
