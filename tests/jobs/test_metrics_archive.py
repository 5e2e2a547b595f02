"""Work horses' metric files fold into one archive per worker: the folder stays small, the
scraped totals stay the same, and files of live processes are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from jobs import queue
from jobs.metrics_archive import FoldAwareCollector, MetricsArchive, add_values
from jobs.state import ExportType, JobState
from tests.conftest import process_env

REPO = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

FINISHED_PDF = mmap_key(
    "export_jobs_finished",
    "export_jobs_finished_total",
    ["type", "outcome"],
    ["project-pdf", "succeeded"],
    "Exports that ended, by outcome",
)
FINISHED_ZIP = mmap_key(
    "export_jobs_finished",
    "export_jobs_finished_total",
    ["type", "outcome"],
    ["project-zip", "failed"],
    "Exports that ended, by outcome",
)


def bucket(le: str) -> str:
    return mmap_key(
        "export_payload_request_duration_seconds",
        "export_payload_request_duration_seconds_bucket",
        ["method", "route", "le"],
        ["GET", "/projects/:id", le],
        "Payload REST calls and media downloads",
    )


def write(path: Path, values: dict[str, float]) -> None:
    target = MmapedDict(str(path))
    for key, value in values.items():
        target.write_value(key, value, 0.0)
    target.close()


def read(path: Path) -> dict[str, float]:
    return {k: v for k, v, _ts, _pos in MmapedDict.read_all_values_from_file(str(path))}


def collected(folder: Path) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FoldAwareCollector(folder))
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_two_horses_fold_into_the_sums_of_their_values(tmp_path: Path) -> None:
    one, two = tmp_path / "counter_1.db", tmp_path / "counter_2.db"
    write(one, {FINISHED_PDF: 2.0, FINISHED_ZIP: 1.0})
    write(two, {FINISHED_PDF: 3.0})
    archive = tmp_path / "counter_archive-9.db"
    write(archive, {FINISHED_ZIP: 10.0})

    add_values(archive, [one, two])

    assert read(archive) == {FINISHED_PDF: 5.0, FINISHED_ZIP: 11.0}


def test_folding_dead_horses_keeps_the_scraped_totals_and_removes_their_files(
    tmp_path: Path,
) -> None:
    worker = MetricsArchive(tmp_path, owner_pid=os.getpid())
    horses = [dead_pid(), dead_pid()]
    for n, pid in enumerate(horses, start=1):
        write(tmp_path / f"counter_{pid}.db", {FINISHED_PDF: n, FINISHED_ZIP: 1.0})
        write(tmp_path / f"histogram_{pid}.db", {bucket("0.1"): n, bucket("+Inf"): 1.0})
    before = collected(tmp_path)

    assert sum(worker.fold_process(pid) for pid in horses) == 4

    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == [
        f"counter_archive-{os.getpid()}.db",
        f"histogram_archive-{os.getpid()}.db",
    ]
    after = collected(tmp_path)
    assert after == before
    count = (
        "export_payload_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", "/projects/:id")}),
    )
    assert after[count] == 5.0  # 1 + 2 in the 0.1 s bucket, 1 + 1 beyond


def test_a_live_process_files_are_never_folded(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f"counter_{sleeper.pid}.db"
        gauge = tmp_path / f"gauge_all_{dead_pid()}.db"
        dead = tmp_path / f"counter_{dead_pid()}.db"
        others_archive = tmp_path / f"counter_archive-{sleeper.pid}.db"
        for path in (live, gauge, dead, others_archive):
            write(path, {FINISHED_PDF: 1.0})
        worker = MetricsArchive(tmp_path, owner_pid=os.getpid())

        assert worker.fold_process(sleeper.pid) == 0
        assert worker.fold_leftovers() == 1

        assert live.exists() and gauge.exists() and others_archive.exists()
        assert not dead.exists()
        assert read(worker.archive_path("counter")) == {FINISHED_PDF: 1.0}
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dead_workers_archive_and_horses_are_adopted(tmp_path: Path) -> None:
    gone_worker, gone_horse = dead_pid(), dead_pid()
    write(tmp_path / f"counter_archive-{gone_worker}.db", {FINISHED_PDF: 40.0})
    write(tmp_path / f"counter_{gone_horse}.db", {FINISHED_PDF: 2.0})
    before = collected(tmp_path)
    worker = MetricsArchive(tmp_path, owner_pid=os.getpid())

    assert worker.fold_leftovers() == 2

    assert [p.name for p in tmp_path.glob("*.db")] == [worker.archive_path("counter").name]
    assert collected(tmp_path) == before


@pytest.mark.parametrize("committed", [True, False])
def test_a_fold_cut_short_by_a_crash_neither_counts_twice_nor_loses(
    tmp_path: Path, committed: bool
) -> None:
    """A worker died mid-fold: its claimed file is either in its archive (the .tmp was
    renamed over it: committed) or not (the .tmp is still there)."""
    crashed, horse = dead_pid(), dead_pid()
    archive = tmp_path / f"counter_archive-{crashed}.db"
    claimed = tmp_path / f"counter_{horse}.db.folding-{crashed}"
    write(claimed, {FINISHED_PDF: 2.0})
    if committed:
        write(archive, {FINISHED_PDF: 12.0})  # 10 before the fold, + 2
    else:
        write(archive, {FINISHED_PDF: 10.0})
        write(tmp_path / f"{archive.name}.tmp", {FINISHED_PDF: 12.0})
    worker = MetricsArchive(tmp_path, owner_pid=os.getpid())

    worker.fold_leftovers()

    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "fold.lock") == [
        worker.archive_path("counter").name
    ]
    assert read(worker.archive_path("counter")) == {FINISHED_PDF: 12.0}


def queue_zips(settings, redis, fake_payload, count: int) -> None:
    for n in range(count):
        doc = fake_payload.stub.add(
            "export-requests", {"type": "project-zip", "project": 17, "status": "queued"}
        )
        state = JobState(
            job_id=f"zip-{n}", type=ExportType.PROJECT_ZIP, project_id=17, request_doc_id=doc["id"]
        )
        queue.submit(redis, settings, state)


def count_payload_requests(fake_payload) -> list[int]:
    served = [0]
    dispatch = fake_payload.stub._dispatch

    def counting(request):
        served[0] += 1
        return dispatch(request)

    fake_payload.stub._dispatch = counting
    return served


@pytest.mark.slow
def test_a_forking_worker_leaves_a_few_files_however_many_exports(
    settings, redis, redis_server, fake_payload, tmp_path: Path
) -> None:
    exports = 6
    folder = tmp_path / "metrics"
    folder.mkdir()
    queue_zips(settings, redis, fake_payload, exports)
    served = count_payload_requests(fake_payload)
    env = process_env(
        fake_payload.url,
        f"unix://{redis_server.socket_file}",
        settings.temp_dir,
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--burst"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]

    files = sorted(p.name for p in folder.glob("*.db"))
    # the worker's own two files and its two archives, not two per export
    assert len(files) <= 4, files
    samples = collected(folder)
    zip_ok = frozenset({("type", "project-zip"), ("outcome", "succeeded")})
    assert samples[("export_jobs_finished_total", zip_ok)] == exports
    assert samples[("export_job_duration_seconds_count", zip_ok)] == exports
    payload_calls = sum(
        v
        for (name, _), v in samples.items()
        if name == "export_payload_request_duration_seconds_count"
    )
    assert payload_calls == served[0]  # every Payload call the worker made, counted once
