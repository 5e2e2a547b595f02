"""Ctrl-C during `export-service export`: exit status 130, the job failed with a sentence,
nothing left behind. A real process and a real SIGINT (Payload served over loopback)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.state import JobStatus, JobStore
from tests.conftest import leftovers, process_env

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_ctrl_c_during_an_export_exits_130(settings, redis, redis_server, fake_payload):
    redis_url = f"unix://{redis_server.socket_file}"
    env = process_env(fake_payload.url, redis_url, settings.temp_dir, SLOW_EXPORT_S="20")
    argv = ["export", "zip", "17", "--no-upload", "-o", str(settings.temp_dir.parent)]
    command = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.slow_worker", *argv],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = JobStore(redis, ttl_s=60)
    try:
        job_id = wait_for_running_job(store, redis)
        command.send_signal(signal.SIGINT)
        _, err = command.communicate(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()

    assert command.returncode == 130, err
    assert "export-service: interrupted" in err
    state = store.get(job_id)
    assert state.status is JobStatus.CANCELLED and state.error
    assert leftovers(settings.temp_dir) == []


def wait_for_running_job(store: JobStore, redis, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for key in redis.keys("export:job:*"):
            job_id = key.decode().removeprefix("export:job:")
            if store.get(job_id).stage == "slow work":
                return job_id
        time.sleep(0.05)
    raise AssertionError("the export did not start")
