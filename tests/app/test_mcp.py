"""MCP at /mcp, through the SDK's own client over real HTTP (uvicorn on a loopback port).

The Payload stub patches `requests` for the whole process, so the server thread sees it;
jobs run on the `worker` fixture in the main thread (RQ installs signal handlers).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, Tool

from app import mcp as app_mcp
from app.main import create_app
from jobs.state import JobStore
from tests.conftest import EDITOR, OUTSIDER, queued_jobs, run_jobs, waiting_jobs

SERVER_START_TIMEOUT_S = 10.0
MODES = ["auto", "legacy"]  # the 2026-07-28 single-exchange era and the handshake era


@pytest.fixture
def mcp_url(settings, redis, payload) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; yields /mcp's URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, redis=redis), log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(SERVER_START_TIMEOUT_S)
    sock.close()


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(app_mcp, "WAIT_POLL_INTERVAL_S", 0.02)


async def _session(url: str, auth: str, mode: str, work: Any) -> Any:
    async with (
        httpx2.AsyncClient(headers={"Authorization": auth}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        return await work(client)


def call(
    url: str,
    tool: str,
    arguments: dict[str, Any],
    *,
    auth: str = EDITOR,
    mode: str = "auto",
    on_progress: Any = None,
) -> CallToolResult:
    async def work(client: Client) -> CallToolResult:
        return await client.call_tool(tool, arguments, progress_callback=on_progress)

    return anyio.run(_session, url, auth, mode, work)


def list_tools(url: str, mode: str = "auto") -> list[Tool]:
    async def work(client: Client) -> list[Tool]:
        return (await client.list_tools()).tools

    return anyio.run(_session, url, EDITOR, mode, work)


def error_of(result: CallToolResult) -> str:
    assert result.is_error, result
    return result.content[0].text  # type: ignore[union-attr]


# -- the tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_tools_are_listed_with_schemas_an_agent_can_follow(mcp_url, mode):
    tools = {tool.name: tool for tool in list_tools(mcp_url, mode)}
    assert set(tools) == {
        "export.project_pdf",
        "export.project_zip",
        "export.video",
        "export.job_status",
    }
    for name in ("export.project_pdf", "export.project_zip", "export.video"):
        assert tools[name].input_schema["required"][0] == "projectId"
        assert "Media document" in tools[name].description
        assert "asynchronously" in tools[name].description
        assert {"wait", "timeoutSeconds"} <= set(tools[name].input_schema["properties"])
    assert "$ref" not in str(tools["export.project_pdf"].input_schema)
    assert tools["export.video"].input_schema["required"] == ["projectId", "preset"]
    assert tools["export.job_status"].input_schema["required"] == ["jobId"]
    assert tools["export.job_status"].annotations.read_only_hint is True


@pytest.mark.parametrize("mode", MODES)
def test_a_pdf_export_is_queued_run_and_read_back(mcp_url, payload, worker, mode):
    arguments = {"projectId": 17, "options": {"paperSize": "Letter"}}
    result = call(mcp_url, "export.project_pdf", arguments, mode=mode)
    assert not result.is_error, result
    job = result.structured_content
    assert job["status"] == "queued" and job["projectId"] == 17 and job["type"] == "project-pdf"
    [doc] = payload.docs("export-requests")
    assert (doc["jobId"], doc["source"], doc["requestedBy"]) == (job["jobId"], "mcp", 2)
    assert doc["params"] == {
        "options": {
            "draft": False,  # the published version unless asked (jobs/content.py)
            "paperSize": "Letter",
            "orientation": "portrait",
            "includeMediaAppendix": True,
            "includeThumbnails": True,
            "template": "default",
        }
    }

    run_jobs(worker)

    result = call(mcp_url, "export.job_status", {"jobId": job["jobId"]}, mode=mode)
    state = result.structured_content
    assert state["status"] == "succeeded", state["error"]
    assert state["progress"] == 100
    assert payload.collections["media"][state["resultMediaId"]]["mimeType"] == "application/pdf"
    assert state["resultUrl"].startswith("http://payload.test/")
    assert "succeeded: Payload Media document" in result.content[1].text


@pytest.mark.parametrize("mode", MODES)
def test_wait_reports_progress_until_the_job_ends(mcp_url, payload, redis, worker, mode):
    notes: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, total, message))

    arguments = {"projectId": 17, "wait": True, "timeoutSeconds": 10}
    outcome: dict[str, CallToolResult] = {}
    caller = threading.Thread(
        target=lambda: outcome.setdefault(
            "result",
            call(mcp_url, "export.project_zip", arguments, mode=mode, on_progress=on_progress),
        )
    )
    caller.start()
    until(lambda: len(notes) == 1)  # waiting on the queued job
    [doc] = payload.docs("export-requests")
    JobStore(redis, ttl_s=60).update(doc["jobId"], status="running", progress=40, stage="bundling")
    until(lambda: len(notes) == 2)
    run_jobs(worker)  # reports 5%, 8%, …: below 40, so not sent
    caller.join(15)

    final = outcome["result"].structured_content
    assert final["status"] == "succeeded", final["error"]
    assert notes[:2] == [(0, 100, "queued"), (40, 100, "bundling")]
    assert notes[-1] == (100, 100, "done")  # with any rise the poll saw in between
    assert [p for p, _, _ in notes] == sorted({p for p, _, _ in notes})  # strictly rising


def until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_wait_gives_up_after_timeout_seconds_with_the_state_so_far(mcp_url):
    started = time.monotonic()
    result = call(
        mcp_url, "export.project_pdf", {"projectId": 17, "wait": True, "timeoutSeconds": 0.3}
    )
    assert 0.3 <= time.monotonic() - started < 5
    assert result.structured_content["status"] == "queued"
    assert "export.job_status" in result.content[1].text


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sentence"),
    [
        ({}, "send your Payload credentials in the Authorization header"),
        ({"Authorization": "users API-Key not-a-real-key"}, "does not recognise these credentials"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "is not '<collection> API-Key <key>'"),
    ],
)
def test_mcp_needs_credentials_payload_accepts(client, headers, sentence):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = client.post(
        "/mcp", json=message, headers={"Accept": "application/json, text/event-stream", **headers}
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthenticated" and sentence in error["message"]
    assert response.headers["WWW-Authenticate"] == "API-Key, Bearer"


MCP_ACCEPT = "application/json, text/event-stream"


@pytest.mark.parametrize(
    ("headers", "body", "status", "code", "words"),
    [
        ({"Content-Type": "text/plain"}, b"{}", 400, "unsupported_media_type", "Content-Type"),
        ({"Content-Type": "application/json"}, b"x" * (5 * 1024 * 1024), 413,
         "payload_too_large", "smaller"),
        ({"Content-Type": "application/json"}, b"{not json", 400, "invalid_json", "Parse error"),
        ({"Content-Type": "application/json", "Accept": "text/html"},
         b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', 406, "not_acceptable", "Accept"),
        ({"Content-Type": "application/json"}, b"[1, 2]", 400, "invalid_request", "Validation"),
    ],
)  # fmt: skip
def test_every_mcp_refusal_is_the_documented_json_error(client, headers, body, status, code, words):
    all_headers = {"Authorization": EDITOR, "Accept": MCP_ACCEPT, **headers}
    response = client.post("/mcp", content=body, headers=all_headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error


def test_an_unsupported_method_on_mcp_is_the_documented_json_error(client):
    response = client.put("/mcp", headers={"Authorization": EDITOR, "Accept": MCP_ACCEPT})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_sdk_client_without_credentials_cannot_connect(mcp_url):
    async def connect() -> None:
        async with Client(mcp_url):
            pass

    with pytest.raises(ExceptionGroup) as raised:
        anyio.run(connect)
    assert raised.group_contains(MCPError)


@pytest.mark.parametrize("mode", MODES)
def test_an_outsider_gets_a_tool_error_naming_the_project(mcp_url, payload, mode):
    result = call(mcp_url, "export.project_zip", {"projectId": 17}, auth=OUTSIDER, mode=mode)
    assert error_of(result) == "project 17 does not exist or you cannot see it"
    assert result.structured_content["error"]["code"] == "project_not_found"
    assert payload.docs("export-requests") == []


def test_job_status_checks_the_jobs_project(mcp_url):
    job_id = call(mcp_url, "export.project_pdf", {"projectId": 17}).structured_content["jobId"]
    result = call(mcp_url, "export.job_status", {"jobId": job_id}, auth=OUTSIDER)
    assert error_of(result) == "project 17 does not exist or you cannot see it"
    assert error_of(call(mcp_url, "export.job_status", {"jobId": "nope"})) == (
        "no export job has the id 'nope'"
    )


@pytest.mark.parametrize(
    ("tool", "arguments", "sentence"),
    [
        (
            "export.project_pdf",
            {"projectId": 17, "options": {"watermark": True}},
            "options.watermark is not a field this endpoint accepts",
        ),
        ("export.project_pdf", {"options": {}}, "projectId is required"),
        (
            "export.project_zip",
            {"projectId": 17, "options": {"format": "rar"}},
            "options.format: Input should be 'zip' or 'tar.gz'",
        ),
        (
            "export.project_zip",
            {"projectId": 17, "wait": True, "timeoutSeconds": 3600},
            "timeoutSeconds: Input should be less than or equal to 300",
        ),
        (
            "export.video",
            {"projectId": 17, "preset": "8k"},
            "preset: '8k' is not a preset; use one of 1080p-h264, 720p-h264, 360p-h264, audio-aac",
        ),
    ],
)
def test_invalid_arguments_are_tool_errors_worded_like_rest(
    mcp_url, client, payload, tool, arguments, sentence
):
    assert error_of(call(mcp_url, tool, arguments)) == sentence
    if "timeoutSeconds" not in arguments:  # the same body, through REST
        path = "/exports/" + tool.removeprefix("export.").replace("_", "-")
        rest = client.post(path, json=arguments, headers={"Authorization": EDITOR})
        assert rest.json()["error"]["message"] == sentence
    assert payload.docs("export-requests") == []


def test_an_unknown_tool_is_a_protocol_error(mcp_url):
    with pytest.raises(ExceptionGroup) as raised:
        call(mcp_url, "export.gif", {"projectId": 17})
    assert raised.group_contains(MCPError, match="there is no tool 'export.gif'")


def test_payload_down_is_a_tool_error_and_nothing_is_queued(mcp_url, payload, redis, settings):
    call(mcp_url, "export.project_pdf", {"projectId": 17})  # credentials and access now cached
    first = queued_jobs(redis, settings)
    payload.down = True
    result = call(mcp_url, "export.project_pdf", {"projectId": 17})
    assert error_of(result).startswith("Payload is unavailable")
    assert result.structured_content["error"]["code"] == "payload_unavailable"
    assert len(payload.docs("export-requests")) == 1  # the first call's
    assert queued_jobs(redis, settings) == first


def test_no_argument_chooses_a_project_the_caller_cannot_read(mcp_url, payload, redis):
    payload.add("projects", {"id": 18, "title": "Private", "editors": [3]})
    result = call(mcp_url, "export.project_pdf", {"projectId": 18})
    assert result.structured_content["error"]["code"] == "project_not_found"
    sneaky = call(mcp_url, "export.project_pdf", {"projectId": 17, "options": {"projectId": 18}})
    assert sneaky.structured_content["error"] == {
        "code": "unknown_field",
        "message": "options.projectId is not a field this endpoint accepts",
        "field": "options.projectId",
    }
    assert payload.docs("export-requests") == []
    assert waiting_jobs(redis) == []
