"""Workers warm up before they fork: a work horse starts with xhtml2pdf, ReportLab's
fonts, Jinja and PIL ready, nothing that must not cross a fork is open, and a crashing
job still stays in its own horse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jobs import queue
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import process_env

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys, threading
from starlette.datastructures import Secret
from app.settings import Settings
from jobs import preload
preload.warm(Settings(payload_url="http://payload.test", payload_api_key=Secret("k")))
from reportlab.pdfbase.pdfmetrics import getRegisteredFontNames
fds = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
       if os.path.exists(f"/proc/self/fd/{fd}")]
print(json.dumps({
    "sockets": [fd for fd in fds if fd.startswith("socket:")],
    "threads": [t.name for t in threading.enumerate()],
    "modules": [m for m in ("xhtml2pdf.pisa", "jinja2", "PIL.PngImagePlugin", "pypdf",
                            "jobs.zip.export", "jobs.video.export", "jobs.lexical.markdown")
                if m in sys.modules],
    "fonts": sorted(n for n in getRegisteredFontNames() if n.startswith("brief")),
}))
"""


def test_warming_up_imports_and_renders_but_opens_no_socket_and_leaves_no_thread():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["sockets"] == []
    assert seen["threads"] == ["MainThread"]
    assert len(seen["modules"]) == 7
    assert {"briefsans_00", "briefrtl_00", "briefcjk_00"} <= set(seen["fonts"])


def submit(redis, settings, job_id: str, params: dict) -> None:
    state = JobState(job_id=job_id, type=ExportType.PROJECT_PDF, project_id=17, params=params)
    queue.submit(redis, settings, state)


def test_work_horses_start_warm_and_a_crash_stays_in_its_horse(
    settings, redis, redis_server, fake_payload
):
    submit(redis, settings, "crash-1", {"crash": True})
    submit(redis, settings, "pdf-1", {})
    redis_url = f"unix://{redis_server.socket_file}"
    env = process_env(fake_payload.url, redis_url, settings.temp_dir, LOG_FORMAT="text")
    out = subprocess.run(
        [sys.executable, "-m", "tests.jobs.warm_worker"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    worker_pid = json.loads(out.stdout.strip().splitlines()[-1])["worker_pid"]
    store = JobStore(redis, ttl_s=60)
    assert store.get("pdf-1").status is JobStatus.SUCCEEDED  # the worker outlived the crash
    for job_id in ("crash-1", "pdf-1"):
        seen = json.loads(redis.get(f"warm-check:{job_id}"))
        assert seen["xhtml2pdf"] and {"briefsans_00", "briefcjk_00"} <= set(seen["fonts"])
        assert seen["pid"] != worker_pid  # each job ran in its own work horse
