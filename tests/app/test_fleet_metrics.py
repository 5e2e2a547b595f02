"""One scrape tells the fleet's story: outcomes counted in Redis by workers that are other
processes (a Procfile deployment, no shared multiprocess folder), and per-queue demand."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from app.main import create_app
from tests.conftest import EDITOR, process_env

REPO = Path(__file__).resolve().parents[2]


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = client.get("/metrics").text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def run_worker_process(settings, *args: str) -> None:
    env = process_env(settings.payload_url, settings.redis_url, settings.temp_dir)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_the_webs_metrics_show_what_a_separate_worker_process_finished(
    settings, redis, fake_payload
):
    settings = replace(settings, payload_url=fake_payload.url)
    with TestClient(create_app(settings, redis=redis)) as client:
        response = client.post(
            "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
        )
        assert response.status_code == 202, response.text
        queued = samples(client)
        waiting = client.get("/metrics/queues").json()
        run_worker_process(settings, "--burst")  # takes the export, then exits
        after = samples(client)

    pdf = ("type", "project-pdf")
    assert queued[("export_fleet_jobs_submitted_total", frozenset({pdf}))] == 1
    assert queued[("export_queue_demand", frozenset({("queue", "exports-fast")}))] == 1
    assert waiting["demand"] == 1
    assert waiting["queues"]["exports-fast"]["waiting"] == 1
    assert waiting["queues"]["exports-bulk"]["demand"] == 0
    succeeded = ("export_fleet_jobs_finished_total", frozenset({pdf, ("outcome", "succeeded")}))
    assert after[succeeded] == 1
    assert after[("export_queue_demand", frozenset({("queue", "exports-fast")}))] == 0
    assert after[("export_workers_alive", frozenset())] == 0  # the burst worker has gone


def test_the_queue_report_needs_the_metrics_token_when_one_is_set(settings, redis, payload):
    from starlette.datastructures import Secret

    guarded = replace(settings, metrics_token=Secret("t" * 20))
    with TestClient(create_app(guarded, redis=redis)) as client:
        assert client.get("/metrics/queues").status_code == 401
        ok = client.get("/metrics/queues", headers={"Authorization": "Bearer " + "t" * 20})
    assert ok.status_code == 200 and ok.json()["demand"] == 0
