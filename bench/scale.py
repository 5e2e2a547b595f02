"""Scale run: a mixed burst on 4 workers, two of them scaled down (SIGTERM) mid-run.

    .venv/bin/python bench/scale.py [--exports 200] [--workers 4] [--bulk-every 8]

Loopback only, bounded in time (RUN_LIMIT_S). Starts the stub Payload over HTTP, a Redis,
the web process and N workers (`export-service worker`: fast queue first, then bulk), with
EXPORT_SHUTDOWN_GRACE_S long enough for any export here, as docs/deploy.md asks. Submits a
burst over REST — mostly PDF briefs, every `--bulk-every`-th a media bundle or a video —
and SIGTERMs two workers (their whole process group, as a scale-down does) at 25% and 50%
finished, without restarting them. Then it checks every export request in Payload:

- terminal / lost: every accepted submission has a document, and each ended;
- failed by the scale-down: error sentences saying the worker was shut down;
- upload collisions: "Value must be unique" failures, or two results under one file name;
- queue wait (startedAt − createdAt, from Redis) p50/p90 of PDFs beside bulk exports'.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from redis import Redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.fake_payload import FakePayload  # noqa: E402
from bench.fault_injection import TERMINAL, RedisServer, Service, documents, free_port  # noqa: E402
from jobs.state import JobStore  # noqa: E402
from tests.jobs.video.video_media import make_clip  # noqa: E402
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, auth_header, seed  # noqa: E402

RUN_LIMIT_S = 600
GRACE_S = 300  # longer than any export here: a scale-down lets the export in hand finish
SCALE_DOWN_AT = (0.25, 0.50)
SHUTDOWN_WORDS = "the worker was shut down"
COLLISION_WORDS = "must be unique"


def add_video_media(stub: PayloadStub, folder: Path) -> int:
    clip = make_clip(folder / "scale-clip.mp4", seconds=2.0)
    doc = stub.add_media_file(clip.name, clip.read_bytes(), "video/mp4", duration=2.0)
    stub.collections["projects"][17]["media"].append(doc["id"])
    return int(doc["id"])


def request_for(n: int, bulk_every: int, clip_id: int) -> tuple[str, dict[str, Any]]:
    if n % bulk_every != bulk_every - 1:
        return "project-pdf", {"projectId": 17}
    if (n // bulk_every) % 2 == 0:
        return "project-zip", {"projectId": 17, "includeMedia": True}
    timeline = {"clips": [{"mediaId": clip_id, "in": 0, "out": 2}]}
    return "video", {"projectId": 17, "preset": "360p-h264", "timeline": timeline}


def submit_all(base: str, count: int, bulk_every: int, clip_id: int) -> list[dict[str, Any]]:
    def one(n: int) -> dict[str, Any]:
        kind, body = request_for(n, bulk_every, clip_id)
        response = requests.post(
            f"{base}/exports/{kind}",
            json=body,
            headers={"Authorization": auth_header(EDITOR_KEY)},
            timeout=30,
        )
        if response.status_code != 202:
            raise RuntimeError(f"submission {n} answered {response.status_code}: {response.text}")
        return {**response.json(), "kind": kind}

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def scale_down(
    stub: PayloadStub, lock: threading.Lock, service: Service, total: int, stop: threading.Event
) -> list[str]:
    """SIGTERM workers 0 and 1 (not restarted) as the run passes each mark."""
    log: list[str] = []
    marks = list(SCALE_DOWN_AT)
    while marks and not stop.is_set():
        finished = sum(d.get("status") in TERMINAL for d in documents(stub, lock))
        if finished >= marks[0] * total:
            index = len(SCALE_DOWN_AT) - len(marks)
            marks.pop(0)
            os.killpg(service.workers[index].pid, signal.SIGTERM)
            log.append(f"SIGTERM worker {index} at {finished}/{total} finished")
        time.sleep(0.1)
    return log


def queue_waits(redis: Redis, accepted: list[dict[str, Any]]) -> dict[str, list[float]]:
    waits: dict[str, list[float]] = collections.defaultdict(list)
    for item in accepted:
        state = JobStore(redis, ttl_s=3600).get(item["jobId"])
        if state is None or state.started_at is None:
            continue
        wait = _seconds(state.started_at) - _seconds(state.created_at)
        waits["pdf" if item["kind"] == "project-pdf" else "bulk"].append(wait)
    return waits


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=10)
    return f"p50 {statistics.median(values):.2f} s, p90 {cuts[8]:.2f} s (n={len(values)})"


def verify(stub: PayloadStub, accepted: list[dict[str, Any]]) -> dict[str, Any]:
    docs = {d["id"]: d for d in stub.docs("export-requests")}
    errors = [d.get("error") or "" for d in docs.values() if d.get("status") == "failed"]
    names = [m["filename"] for m in stub.docs("media") if m.get("exportRequest") is not None]
    return {
        "documents": len(docs),
        "accepted": len(accepted),
        "terminal": sum(d.get("status") in TERMINAL for d in docs.values()),
        "lost": sum(a.get("exportRequestId") not in docs for a in accepted),
        "succeeded": sum(d.get("status") == "succeeded" for d in docs.values()),
        "failed": len(errors),
        "by_scale_down": sum(SHUTDOWN_WORDS in e for e in errors),
        "collisions": sum(COLLISION_WORDS in e for e in errors) + len(names) - len(set(names)),
        "reasons": collections.Counter(e.split(";")[0][:80] for e in errors),
    }


def run(
    args: argparse.Namespace, root: Path
) -> tuple[dict[str, Any], list[str], dict[str, list[float]], float]:
    started = time.monotonic()
    stub = PayloadStub(None)
    seed(stub)
    clip_id = add_video_media(stub, root)
    fake = FakePayload(stub).start()
    redis = RedisServer(root)
    redis.start()
    env = {
        **os.environ,
        "PAYLOAD_URL": fake.url,
        "PAYLOAD_API_KEY": SERVICE_KEY,
        "REDIS_URL": redis.url,
        "PORT": str(free_port()),
        "EXPORT_TEMP_DIR": str(root),
        "EXPORT_MAX_QUEUE_DEPTH": "100000",
        "EXPORT_MAX_ACTIVE_PER_CALLER": "100000",
        "EXPORT_SHUTDOWN_GRACE_S": str(GRACE_S),
        "PYTHONPATH": str(REPO),
    }
    service = Service(env, args.workers, root)
    stop, events = threading.Event(), []
    try:
        service.wait_ready()
        scaler = threading.Thread(
            target=lambda: events.extend(scale_down(stub, fake.lock, service, args.exports, stop)),
            daemon=True,
        )
        scaler.start()
        accepted = submit_all(
            f"http://127.0.0.1:{service.port}", args.exports, args.bulk_every, clip_id
        )
        while time.monotonic() < started + RUN_LIMIT_S:
            docs = documents(stub, fake.lock)
            if len(docs) >= len(accepted) and all(d.get("status") in TERMINAL for d in docs):
                break
            time.sleep(0.5)
        stop.set()
        scaler.join(timeout=5)
        exits = [service.workers[i].wait(timeout=GRACE_S + 30) for i in range(len(SCALE_DOWN_AT))]
        events.append(f"scaled-down workers exited with {exits}")
        with fake.lock:
            report = verify(stub, accepted)
        waits = queue_waits(Redis.from_url(redis.url), accepted)
    finally:
        stop.set()
        service.stop()
        redis.stop()
        fake.close()
    return report, events, waits, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--bulk-every", type=int, default=8, help="every Nth export is bulk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-scale-") as tmp:
        report, events, waits, elapsed = run(args, Path(tmp))
    print("; ".join(events))
    print(
        f"{report['terminal']}/{report['accepted']} terminal, {report['lost']} lost, "
        f"{report['succeeded']} succeeded, {report['failed']} failed "
        f"({report['by_scale_down']} by the scale-down, {report['collisions']} upload "
        f"collisions)  [{args.workers} workers, {elapsed:.0f} s]"
    )
    for reason, count in report["reasons"].most_common():
        print(f"  {count:4d} × {reason}")
    print(f"queue wait, PDF briefs:    {percentiles(waits['pdf'])}")
    print(f"queue wait, bulk exports:  {percentiles(waits['bulk'])}")
    ok = (
        report["terminal"] == report["accepted"] == report["documents"]
        and not report["lost"]
        and not report["by_scale_down"]
        and not report["collisions"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
