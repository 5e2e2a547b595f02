"""app.job_lookup through GET /jobs/{id}: Redis first, Payload's copy when it cannot answer."""

from __future__ import annotations

from dataclasses import replace

from starlette.testclient import TestClient

from app.main import connect_redis, create_app
from tests.conftest import EDITOR


def test_redis_down_while_payload_is_up_answers_from_the_export_request(settings, payload):
    payload.add(
        "export-requests",
        {"id": 5, "type": "project-pdf", "project": 17, "status": "succeeded", "progress": 100,
         "jobId": "job-abc123", "params": {}, "result": None},
    )  # fmt: skip
    dead = connect_redis(replace(settings, redis_url="unix:///nonexistent/redis.sock"))
    with TestClient(create_app(settings, redis=dead)) as client:
        response = client.get("/jobs/job-abc123", headers={"Authorization": EDITOR})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded"
        assert response.json()["projectId"] == 17
        missing = client.get("/jobs/job-nope", headers={"Authorization": EDITOR})
        assert missing.status_code == 404
