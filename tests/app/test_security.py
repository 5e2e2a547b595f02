"""Every authenticated route refuses missing, malformed, unknown and other people's
credentials with the documented error, and nothing reaches a worker."""

from __future__ import annotations

import pytest

from tests.conftest import EDITOR, GUEST, OUTSIDER

BODIES = {
    "/exports/project-pdf": {"projectId": 17},
    "/exports/project-zip": {"projectId": 17},
    "/exports/video": {"projectId": 17, "preset": "720p-h264"},
}
CREDENTIALS = [
    (None, 401, "unauthenticated"),
    ("", 401, "unauthenticated"),
    ("users API-Key", 401, "unauthenticated"),
    ("Basic ZWRpdG9yOnBhc3N3b3Jk", 401, "unauthenticated"),
    ("users API-Key forged-key-000000000", 401, "unauthenticated"),
    ("Bearer not-a-token", 401, "unauthenticated"),
    (OUTSIDER, 404, "project_not_found"),
    (GUEST, 403, "forbidden"),
]


def headers(auth):
    return {} if auth is None else {"Authorization": auth}


@pytest.fixture
def job_id(client):
    response = client.post(
        "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    return response.json()["jobId"]


@pytest.mark.parametrize(("auth", "status", "code"), CREDENTIALS)
@pytest.mark.parametrize("path", list(BODIES))
def test_submissions_refuse_bad_credentials(client, redis, payload, path, auth, status, code):
    response = client.post(path, json=BODIES[path], headers=headers(auth))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] in (code, "forbidden", "project_not_found")
    assert redis.keys("rq:job:*") == []
    assert payload.docs("export-requests") == []


@pytest.mark.parametrize(("auth", "status", "code"), CREDENTIALS)
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/cancel")])
def test_job_routes_refuse_bad_credentials(
    client, job_id, redis, method, suffix, auth, status, code
):
    response = client.request(method, f"/jobs/{job_id}{suffix}", headers=headers(auth))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] in (code, "forbidden", "project_not_found")
    assert redis.hget(f"export:job:{job_id}", "status") == b'"queued"'


def test_credentials_never_reach_redis(client, redis, job_id):
    for key in redis.keys("*"):
        kind = redis.type(key)
        values = {
            b"string": lambda k: [redis.get(k)],
            b"hash": lambda k: redis.hvals(k),
            b"set": lambda k: list(redis.smembers(k)),
            b"list": lambda k: redis.lrange(k, 0, -1),
        }.get(kind, lambda k: [])(key)
        for value in values:
            assert b"editor-key" not in (value or b""), key
