"""`export-service` run in-process (so `responses` stubs Payload): exit codes and output."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from app.cli.main import fresh_metrics_dir, main
from app.cli.progress_bar import ProgressBar
from app.settings import Settings
from jobs.state import ExportType, JobState, JobStatus, JobStore
from tests.conftest import WEBHOOK_SECRET
from tests.payload_stub import BASE_URL, SERVICE_KEY, PayloadStub

PROGRESS_LINE = re.compile(
    r"^(?P<kind>pdf|zip|video)\s+(?P<percent>\d{1,3})%  (?P<stage>\S.*?)\s+"
    r"(?P<bytes>\d+(\.\d)? (B|kB|MB|GB))  ETA (?P<eta>\?|\d+s|\d+m\d\ds|\d+h\d\dm)$"
)


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> Iterator[None]:
    """The service's settings as the environment a shell would give the command."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "PAYLOAD_URL": BASE_URL,
        "PAYLOAD_API_KEY": SERVICE_KEY,
        "REDIS_URL": settings.redis_url or "",
        "EXPORT_TEMP_DIR": str(settings.temp_dir),
        "EXPORT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOG_FORMAT": "json",
    }.items():
        monkeypatch.setenv(name, value)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.name == "export-service"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def progress_lines(err: str) -> list[re.Match[str]]:
    return [m for line in err.splitlines() if (m := PROGRESS_LINE.match(line))]


# -- help and usage --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["web"],
        ["worker"],
        ["dev"],
        ["export"],
        ["jobs"],
        ["jobs", "show"],
        ["jobs", "list"],
        ["jobs", "cancel"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    assert "usage: export-service" in capsys.readouterr().out


def test_a_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "docx", "17"])
    assert exit_info.value.code == 2


def test_an_invalid_option_is_one_line_and_exit_2(
    payload: PayloadStub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "zip", "17", "--no-upload", "--option", "format=rar"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("export-service: invalid zip export: options.format")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert len(payload.mock.calls) == 0  # nothing was asked of Payload


def test_no_option_chooses_another_project(
    payload: PayloadStub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "pdf", "17", "--no-upload", "--option", "projectId=18"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("export-service: invalid pdf export: options.projectId is not a field")
    assert len(payload.mock.calls) == 0


def test_a_missing_setting_is_named_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PAYLOAD_URL")
    assert main(["export", "pdf", "17", "--no-upload"]) == 2
    assert "PAYLOAD_URL is not set" in capsys.readouterr().err


# -- export ----------------------------------------------------------------------------


def test_no_upload_writes_a_valid_zip_and_writes_nothing_to_payload(
    payload: PayloadStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media_before = len(payload.docs("media"))
    out = tmp_path / "bundle.zip"
    code = main(
        ["export", "zip", "17", "-o", str(out), "--no-upload", "--option", "includeMedia=true"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(out)
    with zipfile.ZipFile(out) as bundle:
        assert bundle.testzip() is None
        names = bundle.namelist()
    assert "manifest.json" in names and any(n.startswith("media/") for n in names)
    assert payload.docs("export-requests") == []
    assert len(payload.docs("media")) == media_before
    assert not any(call.request.method in ("POST", "PATCH") for call in payload.mock.calls)
    assert not list(out.parent.glob("*.part"))


def test_progress_lines_show_stage_percent_bytes_and_eta(
    payload: PayloadStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["export", "zip", "17", "-o", str(tmp_path), "--no-upload", "--option", "includeMedia=true"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    lines = progress_lines(err)
    assert len(lines) >= 3, err
    assert {m["kind"] for m in lines} == {"zip"}
    percents = [int(m["percent"]) for m in lines]
    assert percents == sorted(percents) and percents[-1] == 100
    assert lines[-1]["stage"] == "done" and lines[-1]["eta"] == "0s"
    assert lines[-1]["bytes"] != "0 B"  # the two media files were downloaded
    assert re.search(r"^wrote .+\.zip \(.+\); job [0-9a-f]{32}, not uploaded$", err, re.M)


def test_an_uploaded_export_is_recorded_like_any_other(
    payload: PayloadStub, redis: Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "brief.zip"
    assert main(["export", "zip", "17", "-o", str(out), "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "succeeded" and job["file"] == str(out)
    (request,) = payload.docs("export-requests")
    assert request["status"] == "succeeded" and request["jobId"] == job["jobId"]
    assert request["source"] == "cli"
    media = payload.collections["media"][job["resultMediaId"]]
    assert media["exportOf"] == 17 and media["exportRequest"] == request["id"]
    assert payload.files[media["filename"]] == out.read_bytes()
    stored = JobStore(redis, ttl_s=60).get(job["jobId"])
    assert stored is not None and stored.status is JobStatus.SUCCEEDED


def test_an_unknown_project_exits_3(
    payload: PayloadStub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "pdf", "999", "--no-upload"]) == 3
    err = capsys.readouterr().err
    assert err == (
        "export-service: project 999 was not found in Payload's projects "
        "(or PAYLOAD_API_KEY may not read it)\n"
    )


def test_a_failed_export_exits_1_with_its_sentence(
    payload: PayloadStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload.add_lost_media(17)
    out = tmp_path / "bundle.zip"
    code = main(["export", "zip", "17", "-o", str(out), "--option", "includeMedia=true"])
    err = capsys.readouterr().err
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("export-service: export failed: media ") and "lost.png" in last
    assert not out.exists()
    (request,) = payload.docs("export-requests")
    assert request["status"] == "failed" and "lost.png" in request["error"]


def test_payload_down_exits_4(payload: PayloadStub, capsys: pytest.CaptureFixture[str]) -> None:
    payload.down = True
    assert main(["export", "pdf", "17", "--no-upload"]) == 4
    assert "did not answer" in capsys.readouterr().err


def test_redis_down_exits_4(
    payload: PayloadStub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", f"unix://{tmp_path}/no-redis.sock")
    assert main(["jobs", "list"]) == 4
    assert capsys.readouterr().err.startswith("export-service: Redis did not answer")


# -- jobs ------------------------------------------------------------------------------


def queued_job(redis: Redis, job_id: str = "job-0001") -> JobState:
    state = JobState(job_id=job_id, type=ExportType.PROJECT_PDF, project_id=17)
    JobStore(redis, ttl_s=60).create(state)
    return state


def test_jobs_show_prints_the_state_as_json(
    payload: PayloadStub, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    queued_job(redis)
    assert main(["jobs", "show", "job-0001"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["jobId"] == "job-0001" and shown["status"] == "queued"


def test_jobs_show_of_an_unknown_job_exits_3(
    payload: PayloadStub, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "show", "nope"]) == 3
    assert capsys.readouterr().err == "export-service: no export job has the id 'nope'\n"


def test_jobs_list_filters_by_status_and_limits(
    payload: PayloadStub, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        queued_job(redis, f"job-{n}")
    JobStore(redis, ttl_s=60).update("job-1", status=JobStatus.FAILED)
    assert main(["jobs", "list", "--status", "queued", "--limit", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["JOB", "ID", "STATUS"]
    assert sorted(line.split()[0] for line in out[1:]) == ["job-0", "job-2"]
    assert main(["jobs", "list", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_jobs_cancel_then_cancel_again_exits_5(
    payload: PayloadStub, redis: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    queued_job(redis)
    assert main(["jobs", "cancel", "job-0001"]) == 0
    assert "cancelled before it started" in capsys.readouterr().out
    state = JobStore(redis, ttl_s=60).get("job-0001")
    assert state is not None and state.status is JobStatus.CANCELLED
    assert main(["jobs", "cancel", "job-0001"]) == 5
    assert capsys.readouterr().err.startswith(
        "export-service: job job-0001 has already been cancelled"
    )


def test_on_a_terminal_the_line_is_redrawn_with_a_bar() -> None:
    now = [0.0]
    screen = io.StringIO()
    bar = ProgressBar(screen, label="pdf", interactive=True, clock=lambda: now[0])
    now[0] = 10.0
    bar.update(stage="rendering", percent=50)
    bar.add_bytes(2_500_000)  # within REDRAW_INTERVAL_S of the last draw: not redrawn
    now[0] = 10.5
    bar.add_bytes(0)
    bar.finish("done")
    frames = screen.getvalue().split("\r\x1b[2K")[1:]
    assert re.fullmatch(r"pdf +\[#{12}\.{12}\] +50%  rendering +0 B  ETA 10s", frames[0])
    assert "2.5 MB" in frames[-1] and frames[-1].endswith("\ndone\n")


def test_dev_starts_with_an_empty_metrics_dir(tmp_path: Path) -> None:
    stale = tmp_path / "metrics" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old run")
    assert fresh_metrics_dir(stale.parent) == stale.parent
    assert list(stale.parent.iterdir()) == []


def test_without_redis_url_a_private_redis_is_used(
    payload: PayloadStub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("REDIS_URL")
    out = tmp_path / "brief.pdf"
    assert main(["export", "pdf", "17", "-o", str(out), "--no-upload"]) == 0, capsys.readouterr()
    assert out.read_bytes().startswith(b"%PDF-")


def test_right_after_the_dev_stack_starts_the_cli_uses_its_payload_key_and_redis(
    payload: PayloadStub,
    redis: Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`export-service dev` writes `.data/dev.env`; a shell with nothing set then reaches
    the same Payload and Redis, and the export shows in `jobs list` as a CLI export."""
    from app.cli.main import write_dev_env

    dev_env = write_dev_env(
        tmp_path / ".data",
        {"PAYLOAD_URL": BASE_URL, "PAYLOAD_API_KEY": SERVICE_KEY, "REDIS_URL": settings.redis_url},
    )
    assert dev_env.stat().st_mode & 0o777 == 0o600  # it holds the service key
    for name in ("PAYLOAD_URL", "PAYLOAD_API_KEY", "REDIS_URL"):
        monkeypatch.delenv(name)
    assert main(["export", "pdf", "17", "-o", str(tmp_path / "b.pdf"), "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert main(["jobs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [j["jobId"] for j in listed] == [job["jobId"]]
    (request,) = payload.docs("export-requests")
    assert request["source"] == "cli"
