"""`GET /metrics` after real jobs: the counters, histograms and queue gauges, labelled."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from app.main import create_app
from app.metrics import QueueCollector
from app.settings import Settings, SettingsError, load_settings
from cms_client.client import PayloadCall
from jobs.metrics import observe_payload_call, payload_route
from tests.conftest import EDITOR, run_jobs
from tests.payload_stub import PayloadStub

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def submit_zip(client: TestClient, project_id: int = 17) -> str:
    response = client.post(
        "/exports/project-zip",
        json={"projectId": project_id, "includeMedia": True},
        headers={"Authorization": EDITOR},
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


def test_a_finished_job_is_counted_timed_and_sized(client, payload, worker) -> None:
    before = scrape(client)
    submit_zip(client)
    queued = scrape(client)
    assert value(queued, "export_queue_depth", queue="exports-bulk") == 1
    assert value(queued, "export_queue_oldest_age_seconds", queue="exports-bulk") >= 0
    assert value(queued, "export_redis_up") == 1
    run_jobs(worker)
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    zip_type = {"type": "project-zip"}
    assert delta("export_jobs_submitted_total", **zip_type) == 1
    assert delta("export_jobs_finished_total", **zip_type, outcome="succeeded") == 1
    assert delta("export_job_duration_seconds_count", **zip_type, outcome="succeeded") == 1
    assert delta("export_artifact_bytes_count", **zip_type) == 1
    assert delta("export_artifact_bytes_sum", **zip_type) > 0
    assert delta("export_uploaded_bytes_total") == delta("export_artifact_bytes_sum", **zip_type)
    assert delta("export_downloaded_bytes_total") > 0  # the project's two media files
    assert (
        delta("export_payload_request_duration_seconds_count", method="GET", route="/projects/:id")
        >= 1
    )
    assert (
        delta(
            "export_http_requests_total", method="POST", route="/exports/project-zip", status="202"
        )
        == 1
    )
    assert value(after, "export_queue_depth", queue="exports-bulk") == 0
    assert ("export_workers", frozenset({("queue", "exports-bulk")})) in after


def test_a_failed_job_is_counted_as_failed(client, payload: PayloadStub, worker) -> None:
    before = scrape(client)
    payload.add_lost_media(17)
    submit_zip(client)
    run_jobs(worker)
    after = scrape(client)
    labels = {"type": "project-zip", "outcome": "failed"}
    assert (
        value(after, "export_jobs_finished_total", **labels)
        - value(before, "export_jobs_finished_total", **labels)
        == 1
    )
    errors = {"method": "GET", "route": "download", "reason": "4xx"}
    assert value(after, "export_payload_request_errors_total", **errors) > value(
        before, "export_payload_request_errors_total", **errors
    )


def test_unmatched_paths_share_one_label(client) -> None:
    client.get("/no/such/path/42")
    samples = scrape(client)
    assert (
        value(
            samples, "export_http_requests_total", method="GET", route="<unmatched>", status="404"
        )
        >= 1
    )
    assert not any("/no/such" in str(labels) for _, labels in samples)


def test_a_metrics_token_is_required_when_set(settings: Settings, redis: Redis, payload) -> None:
    guarded = replace(settings, metrics_token=Secret("scrape-token-0123456789"))
    with TestClient(create_app(guarded, redis=redis)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"  # JSON like every error
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        scrape(client, Authorization="Bearer scrape-token-0123456789")


def test_redis_down_is_a_gauge_not_a_failed_scrape(tmp_path: Path) -> None:
    dead = Redis(unix_socket_path=str(tmp_path / "none.sock"), retry=Retry(NoBackoff(), 0))
    families = list(QueueCollector(dead, ["exports-fast"]).collect())
    assert [(f.name, f.samples[0].value) for f in families] == [("export_redis_up", 0)]


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/projects/17", "/projects/:id"),
        ("/export-requests/abc123", "/export-requests/:id"),
        ("/users/me", "/users/me"),
        ("/scripts", "/scripts"),
        ("download", "download"),
    ],
)
def test_payload_routes_never_carry_ids(path: str, route: str) -> None:
    assert payload_route(path) == route


def test_a_payload_call_without_an_answer_is_an_error() -> None:
    from jobs.metrics import PAYLOAD_ERRORS

    labels = ("GET", "/projects/:id", "ConnectionError")
    before = PAYLOAD_ERRORS.labels(*labels)._value.get()
    observe_payload_call(PayloadCall("GET", "/projects/9", None, 0.1, "ConnectionError"))
    assert PAYLOAD_ERRORS.labels(*labels)._value.get() == before + 1


WORK_HORSE = textwrap.dedent(
    """
    import os, sys
    from jobs import metrics
    from jobs.state import ExportType
    from app.metrics import process_registry
    from app.settings import load_settings
    from prometheus_client import generate_latest

    pid = os.fork()
    if pid == 0:  # a work horse: counts, then dies
        metrics.finished(ExportType.PROJECT_PDF, "succeeded", 3.0)
        os._exit(0)
    os.waitpid(pid, 0)
    metrics.submitted(ExportType.PROJECT_PDF)  # the parent (the web process)
    sys.stdout.write(generate_latest(process_registry(load_settings())).decode())
    """
)


def test_multiprocess_mode_adds_up_forked_work_horses(tmp_path: Path) -> None:
    """What a forking RQ worker does: the horse's figures outlive it, in the shared dir."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "PAYLOAD_URL": "http://payload.test",
        "PAYLOAD_API_KEY": "key-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "-c", WORK_HORSE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert 'export_jobs_finished_total{outcome="succeeded",type="project-pdf"} 1.0' in text
    assert 'export_jobs_submitted_total{type="project-pdf"} 1.0' in text
    assert 'export_job_duration_seconds_count{outcome="succeeded",type="project-pdf"} 1.0' in text


def test_the_multiprocess_dir_must_be_in_the_real_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"PROMETHEUS_MULTIPROC_DIR={tmp_path}\n")
    base = {"PAYLOAD_URL": "http://payload.test", "PAYLOAD_API_KEY": "key-0123456789"}
    with pytest.raises(SettingsError, match=r"set in \.env but not in the process environment"):
        load_settings(base, env_file=env_file)
    settings = load_settings({**base, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, env_file=None)
    assert settings.metrics_multiproc_dir == tmp_path
    with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR="):
        load_settings({**base, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "nope")}, env_file=None)


def test_strangers_cannot_mint_metric_series(client) -> None:
    """Made-up auth collections and methods fold into one label value each."""

    def series(samples: Samples, name: str) -> set[frozenset[tuple[str, str]]]:
        return {labels for (sample, labels) in samples if sample == name}

    client.post("/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR})
    client.request("BREW", "/jobs/x")
    before = scrape(client)
    for n in range(40):
        client.post(
            "/exports/project-pdf",
            json={"projectId": 17},
            headers={"Authorization": f"made-up-{n} API-Key key-{n}"},
        )
        client.request(f"BREW{n}", f"/nowhere/{n}")
    after = scrape(client)
    for name in (
        "export_payload_request_duration_seconds_count",
        "export_payload_request_errors_total",
        "export_http_requests_total",
    ):
        assert len(series(after, name) - series(before, name)) <= 2, name
