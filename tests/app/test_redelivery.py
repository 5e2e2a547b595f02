"""Requests whose webhook was lost are queued by the sweeper, once, and never twice."""

from __future__ import annotations

import anyio
import pytest

from app.redelivery import LOST_IN_SERVICE, redeliver_lost
from app.webhooks import CLAIM_PREFIX
from tests.app.test_webhooks import admin_request, delivery, post
from tests.conftest import run_jobs, waiting_jobs

LONG_AGO = "2026-01-01T00:00:00.000Z"


def stranded(payload, **fields):
    """A request created long ago whose webhook never reached the service."""
    return admin_request(payload, **{"createdAt": LONG_AGO, "updatedAt": LONG_AGO, **fields})


def sweep_once(client) -> list:
    services = client.app.state.services
    services.redis.delete("export:redeliver-lock")
    return anyio.run(redeliver_lost, services)


def test_a_request_whose_webhook_was_lost_is_queued_and_runs(client, payload, worker, redis):
    doc = stranded(payload)
    assert sweep_once(client) == [doc["id"]]
    run_jobs(worker)
    assert doc["status"] == "succeeded", doc["error"]
    assert payload.collections["media"][doc["result"]]["exportRequest"] == doc["id"]
    late = post(client, delivery(doc)).json()  # the delivery turns up after all
    assert late["queued"] is False
    assert sweep_once(client) == []
    assert len(redis.keys("rq:job:*")) == 1


def test_a_request_still_waiting_on_the_queue_is_left_alone(client, payload, redis):
    doc = stranded(payload)
    job_id = post(client, delivery(doc)).json()["jobId"]
    assert redis.get(f"{CLAIM_PREFIX}{doc['id']}:create") == job_id.encode()
    assert sweep_once(client) == []
    assert doc["status"] == "queued"
    assert len(waiting_jobs(redis)) == 1


def test_a_request_claimed_but_never_queued_is_failed_with_a_sentence(client, payload, redis):
    doc = stranded(payload)
    redis.set(f"{CLAIM_PREFIX}{doc['id']}:create", "claimed")
    assert sweep_once(client) == []
    assert (doc["status"], doc["error"]) == ("failed", LOST_IN_SERVICE)
    assert waiting_jobs(redis) == []


@pytest.mark.parametrize("fields", [{"updatedAt": "2999-01-01T00:00:00.000Z"}, {"jobId": "x1"}])
def test_recent_or_started_requests_are_not_touched(client, payload, redis, fields):
    doc = stranded(payload, **fields)
    assert sweep_once(client) == []
    assert doc["status"] == "queued"
    assert waiting_jobs(redis) == []


def test_a_lost_rerun_is_queued_as_its_own_run(client, payload, worker, redis):
    doc = stranded(payload)
    post(client, delivery(doc))
    run_jobs(worker)
    assert doc["status"] == "succeeded"
    # a person set it back to queued (the plugin clears the run fields), and that delivery
    # was lost
    doc.update(status="queued", jobId=None, updatedAt="2026-02-01T00:00:00.000Z")
    assert sweep_once(client) == [doc["id"]]
    run_jobs(worker)
    assert doc["status"] == "succeeded"
    assert len(redis.keys("rq:job:*")) == 2
