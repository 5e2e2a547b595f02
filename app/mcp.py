"""MCP: the export API as tools for agents, over streamable HTTP at `/mcp`.

Four tools: `export.project_pdf`, `export.project_zip`, `export.video` submit an export the
way the REST routes do (same validation, same access rule, `source="mcp"`), and
`export.job_status` reads a job like `GET /jobs/{id}`. Each answers with the job as
structured content in the shape of `GET /jobs/{id}`, and with `wait: true` follows the job
until it ends or `timeoutSeconds` pass, sending MCP progress notifications (progress =
percent, message = stage) when the client asked for them with a progress token.

Built on the SDK's low-level `Server`, not `MCPServer`: the input schemas are the REST
bodies' pydantic models and validation errors must read word for word like REST's, so this
module owns schemas and validation instead of letting the SDK derive them from signatures.

Transport: the SDK's `StreamableHTTPSessionManager`, created and run in the app's lifespan
(`session_manager`), in stateless mode, so any web process can answer any request (no
session affinity, nothing lost on restart; the tools keep no per-session state anyway),
with SSE rather than JSON responses, because a single JSON reply has no room for the
progress notifications of `wait: true`. DNS-rebinding checks are off: they protect
cookie-authenticated localhost servers, and a rebinding page cannot supply the
`Authorization` header every request here needs.

Waiting polls the job (`find_job`, every `WAIT_POLL_INTERVAL_S`) rather than listening
on `export:events:<jobId>` through the `EventHub`: pub/sub loses what is published while
its connection reconnects and the hub drops watchers that fall behind, so a poll would be
needed as a safety net anyway, and the poll alone is simple, survives both, and falls back
to Payload once Redis has let a job expire. Half a second of latency is invisible next to
an export, and one HGETALL per waiting call per half second costs Redis nothing.

Errors::

    before the SDK sees the request (`MCPEndpoint`, raised to the app's handlers):
        no, malformed or unknown credentials   → 401 {"error": {"code": "unauthenticated"}}
        Payload down                           → 503 payload_unavailable
    inside a tool (`_tool_error`, through the same `app.errors.handlers` as REST):
        APIError, CMSError, RedisError, …      → CallToolResult(isError=True) whose text is
                                                 REST's message and whose structured content
                                                 is REST's error body
    an unknown tool name                       → a JSON-RPC error (INVALID_PARAMS), as the
                                                 spec asks, not a tool result
    while waiting: Redis or Payload errors are logged and the poll goes on until the deadline
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from pydantic.json_schema import GenerateJsonSchema
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection, Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.auth import Authenticator, Caller
from app.errors import APIError, handlers
from app.job_lookup import lookup_job
from app.json_errors import JsonErrors
from app.schemas import validate_body
from app.settings import Settings
from app.submissions import Requester, Services, Submission, submit
from app.web import authenticator_of, events_url, services_of
from cms_client import CMSError
from jobs.kinds import PdfExportRequest, VideoExportRequest, ZipExportRequest, kind_of
from jobs.pdf.brief import ALL_SECTIONS
from jobs.state import ExportType, Job, JobState, JobStatus
from jobs.video.timeline import PRESETS, TimelineSpec

logger = logging.getLogger(__name__)

SERVER_NAME = "export-service"
#: Where `MCPEndpoint` leaves the authenticated `Caller` in the ASGI scope.
CALLER_SCOPE_KEY = "export_service.caller"
#: `wait: true` follows a job for `timeoutSeconds`: this long by default, at most MAX_WAIT_S.
DEFAULT_WAIT_S = 60.0
MAX_WAIT_S = 300.0
WAIT_POLL_INTERVAL_S = 0.5
SOURCE = "mcp"

A = TypeVar("A", bound=BaseModel)


# -- arguments ---------------------------------------------------------------------------


class WaitArgs(BaseModel):
    """The arguments every tool shares: whether to follow the job, and for how long."""

    model_config = ConfigDict(extra="forbid")

    wait: StrictBool = Field(
        False,
        description="true: follow the job and answer when it has ended (or when "
        "timeoutSeconds have passed, with its state at that moment); false: answer at once.",
    )
    timeoutSeconds: Annotated[
        float, Field(gt=0, le=MAX_WAIT_S, strict=True, allow_inf_nan=False)
    ] = Field(
        DEFAULT_WAIT_S,
        description=f"With wait: true, the longest to wait, in seconds (default "
        f"{DEFAULT_WAIT_S:g}, at most {MAX_WAIT_S:g}). The job goes on after a timeout.",
    )


class PdfArgs(PdfExportRequest, WaitArgs):
    pass


class ZipArgs(ZipExportRequest, WaitArgs):
    pass


class VideoArgs(VideoExportRequest, WaitArgs):
    pass


class JobStatusArgs(WaitArgs):
    jobId: StrictStr


# -- the tools ---------------------------------------------------------------------------

_STATUSES = ", ".join(status.value for status in JobStatus)

_ASYNC_NOTE = (
    "Exports run asynchronously on workers: the call answers at once with the job (status "
    "'queued'), unless wait is true. The answer is the job as GET /jobs/{id} shows it: jobId, "
    f"type, projectId, status ({_STATUSES}), progress (percent), stage, "
    "resultMediaId and resultUrl (once succeeded), error (a sentence, once failed or "
    "cancelled), "
    "exportRequestId, createdAt, startedAt, finishedAt. Follow a job with export.job_status. "
    "You need read access to the project in Payload."
)

PDF_DESCRIPTION = f"""Render a project's designed PDF brief: cover, table of contents, \
summary, project details, every script of the project, and a media appendix. The finished \
PDF is uploaded to Payload as a Media document (resultMediaId, resultUrl) linked to the \
project. {_ASYNC_NOTE}

options (all optional): sections, a subset of {list(ALL_SECTIONS)} (default all); paperSize \
'A4' (default) or 'Letter'; orientation 'portrait' (default) or 'landscape'; \
includeMediaAppendix (default true) lists the project's media files; includeThumbnails \
(default true) shows image thumbnails in that list; template, the name of a PDF template \
installed on the service (default 'default')."""

ZIP_DESCRIPTION = f"""Build an archive of a project: project.json, every script of the \
project, and a manifest.json listing each file with its SHA-256. The archive is uploaded to \
Payload as a Media document (resultMediaId, resultUrl) linked to the project. {_ASYNC_NOTE}

includeMedia (default false): also put the project's media files (images, video, audio) in \
the archive; this can make it large. options (all optional): format 'zip' (default) or \
'tar.gz'; includePdf (default false) also renders the project's PDF brief into the archive."""

_PRESET_NAMES = ", ".join(repr(name) for name in PRESETS)

VIDEO_DESCRIPTION = f"""Render a video of a project: the clips of a timeline, joined by \
cuts or fades, with optional audio tracks mixed over them and title cards, encoded with a \
preset ({_PRESET_NAMES}). The rendered file is uploaded to Payload as a Media document \
(resultMediaId, resultUrl) linked to the project. {_ASYNC_NOTE}

preset (required): the output format. timeline (optional; without it the project's own \
timeline field is used): clips, a list of {{mediaId, in, out, transition}} where mediaId is \
one of the project's media, in and out are seconds into that media and transition is \
'cut' (default) or 'fade'; audio, a list of {{mediaId, start, gain}} (start in seconds on \
the output, gain in dB); titles, a list of {{text, duration, at}}. The timeline, its media \
and the total length are checked before anything is queued; a problem is an error naming \
the field (timeline.clips[2].out)."""

JOB_STATUS_DESCRIPTION = f"""Read an export job by its jobId (from export.project_pdf, \
export.project_zip or export.video): status ({_STATUSES}), progress \
(percent), stage, and once it has succeeded resultMediaId and resultUrl, the Payload Media \
document holding the exported file; once it has failed, error says why in a sentence. With \
wait: true, follows the job until it ends or timeoutSeconds pass. You need read access to \
the job's project in Payload."""

_PROPERTY_NOTES = {
    "projectId": "The Payload id of the project to export (a number, or a string id).",
    "options": "Optional settings of the export; see the tool description.",
    "includeMedia": "Also put the project's media files in the archive (default false).",
    "timeline": "Optional edit to render; defaults to the project's timeline field.",
    "preset": f"Output format: one of {_PRESET_NAMES}.",
    "jobId": "The jobId an export tool answered with.",
}


@dataclass(frozen=True)
class ExportTool:
    """One export tool: its arguments, the export it queues, and what agents read."""

    name: str
    title: str
    args: type[WaitArgs]
    export_type: ExportType
    description: str


EXPORT_TOOLS = {
    tool.name: tool
    for tool in (
        ExportTool(
            "export.project_pdf",
            "Export a project as a PDF brief",
            PdfArgs,
            ExportType.PROJECT_PDF,
            PDF_DESCRIPTION,
        ),
        ExportTool(
            "export.project_zip",
            "Export a project as a ZIP bundle",
            ZipArgs,
            ExportType.PROJECT_ZIP,
            ZIP_DESCRIPTION,
        ),
        ExportTool(
            "export.video",
            "Export a project's video",
            VideoArgs,
            ExportType.VIDEO,
            VIDEO_DESCRIPTION,
        ),
    )
}
JOB_STATUS = "export.job_status"


def input_schema(args: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, self-contained (no $ref), each property described.

    `timeline` is a free-form object to the REST body (checked later against the project's
    media); here it gets the timeline's own schema, so an agent can write one unaided.
    """
    schema = _self_contained(args)
    properties = schema["properties"]
    if "timeline" in properties:
        properties["timeline"] = _self_contained(TimelineSpec)
    for name, prop in properties.items():
        if name in _PROPERTY_NOTES:
            prop["description"] = _PROPERTY_NOTES[name]
    # The export's own fields first, then wait and timeoutSeconds.
    waits = {name: properties.pop(name) for name in WaitArgs.model_fields}
    return {**schema, "properties": properties | waits}


class _Untitled(GenerateJsonSchema):
    # Titles derived from field names ("Projectid") tell an agent nothing.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _self_contained(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, schema_generator=_Untitled)
    definitions = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inline_refs(schema, definitions)
    return inlined


def _inline_refs(node: Any, definitions: Mapping[str, Any]) -> Any:
    # Some MCP clients do not resolve $ref in tool schemas: inline the definitions.
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _inline_refs(definitions[ref.removeprefix("#/$defs/")], definitions)
    return {key: _inline_refs(value, definitions) for key, value in node.items()}


#: The job's public shape, as `GET /jobs/{id}` answers it (`jobs.state.Job`).
JOB_SCHEMA: dict[str, Any] = _self_contained(Job)


def tools() -> list[Tool]:
    """What `tools/list` answers."""
    exports = [
        Tool(
            name=t.name,
            title=t.title,
            description=t.description,
            input_schema=input_schema(t.args),
            output_schema=JOB_SCHEMA,
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=False,
                open_world_hint=False,
            ),
        )
        for t in EXPORT_TOOLS.values()
    ]
    status = Tool(
        name=JOB_STATUS,
        title="Read an export job",
        description=JOB_STATUS_DESCRIPTION,
        input_schema=input_schema(JobStatusArgs),
        output_schema=JOB_SCHEMA,
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    return [*exports, status]


# -- the server --------------------------------------------------------------------------


def build_server() -> Server[Any]:
    """The MCP server: tool listing and tool calls, nothing else."""
    listed = tools()
    schemas = {tool.name: tool.input_schema for tool in listed}

    async def list_tools(
        ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return ListToolsResult(tools=listed)

    return Server(
        SERVER_NAME,
        instructions="Export Payload CMS projects as PDF briefs, ZIP bundles or videos. "
        "Exports run as jobs; each result ends up as a Payload Media document.",
        get_tool_input_schema=schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def session_manager(settings: Settings) -> StreamableHTTPSessionManager:
    """A new session manager (one per app lifespan: the SDK runs each only once)."""
    return StreamableHTTPSessionManager(
        app=build_server(),
        stateless=True,
        json_response=False,
        max_request_body_size=settings.limits.max_body_bytes,
    )


class MCPEndpoint:
    """The ASGI endpoint at /mcp: authenticates the caller, then hands over to the SDK.

    Refusals are raised before the SDK sees anything, so the app's exception handlers
    answer them as JSON, exactly like the REST routes'.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        authenticator: Authenticator = conn.app.state.auth
        scope[CALLER_SCOPE_KEY] = await authenticator.caller(conn)
        sessions: StreamableHTTPSessionManager = conn.app.state.mcp
        # The SDK's own refusals (content type, size, JSON-RPC) leave in the JSON error shape.
        await sessions.handle_request(scope, receive, JsonErrors(send))


routes = [Route("/mcp", MCPEndpoint(), name="mcp")]


# -- calls -------------------------------------------------------------------------------


async def call_tool(
    ctx: ServerRequestContext[Any], params: CallToolRequestParams
) -> CallToolResult:
    request = ctx.request
    assert isinstance(request, Request), "MCP is served over HTTP only"
    if params.name not in EXPORT_TOOLS and params.name != JOB_STATUS:
        known = ", ".join([*EXPORT_TOOLS, JOB_STATUS])
        raise MCPError(INVALID_PARAMS, f"there is no tool {params.name!r}; the tools are {known}")
    try:
        state = await _run_tool(ctx, request, params.name, params.arguments or {})
    except Exception as exc:
        return await _tool_error(request, exc)
    return _job_result(state, events_url(request, state.job_id))


async def _run_tool(
    ctx: ServerRequestContext[Any], request: Request, name: str, arguments: dict[str, Any]
) -> JobState:
    caller: Caller = request.scope[CALLER_SCOPE_KEY]
    if name == JOB_STATUS:
        status_args = _validate(arguments, JobStatusArgs)
        state = await lookup_job(services_of(request), status_args.jobId)
        await authenticator_of(request).require_project(caller, state.project_id)
        args: WaitArgs = status_args
    else:
        args, state = await _submit(request, caller, EXPORT_TOOLS[name], arguments)
    if args.wait:
        state = await _follow(services_of(request), ctx, state, args.timeoutSeconds)
    return state


async def _submit(
    request: Request, caller: Caller, tool: ExportTool, arguments: dict[str, Any]
) -> tuple[WaitArgs, JobState]:
    """The tool's arguments through the one door, as the caller."""
    args = _validate(arguments, tool.args)
    body = {k: v for k, v in arguments.items() if k not in WaitArgs.model_fields}
    submission = Submission(
        kind_of(tool.export_type), body, Requester.with_credentials(caller, source=SOURCE)
    )
    return args, await submit(services_of(request), submission)


def _validate(arguments: dict[str, Any], model: type[A]) -> A:
    # Through the REST body validator, so a refusal is the sentence REST gives.
    return validate_body(arguments, model)


async def _follow(
    services: Services, ctx: ServerRequestContext[Any], state: JobState, timeout_s: float
) -> JobState:
    """Poll the job until it ends or `timeout_s` pass, reporting progress on the way."""
    reported = -1
    with anyio.move_on_after(timeout_s):
        while True:
            if state.progress > reported:
                reported = state.progress
                await ctx.session.report_progress(state.progress, 100, state.stage)
            if state.status.is_terminal:
                break
            await anyio.sleep(WAIT_POLL_INTERVAL_S)
            state = await _poll(services, state)
    return state


async def _poll(services: Services, state: JobState) -> JobState:
    try:
        return await lookup_job(services, state.job_id)
    except (RedisError, CMSError, APIError) as exc:
        logger.warning("job %s: could not read its state while waiting: %s", state.job_id, exc)
        return state


def _job_result(state: JobState, events: str) -> CallToolResult:
    job = state.public(events_url=events)  # the shape of GET /jobs/{id}
    return CallToolResult(
        content=[
            TextContent(type="text", text=json.dumps(job)),
            TextContent(type="text", text=_summary(state)),
        ],
        structured_content=job,
    )


def _summary(state: JobState) -> str:
    job = f"job {state.job_id} ({state.type.value} export of project {state.project_id})"
    if state.status is JobStatus.SUCCEEDED:
        return (
            f"{job} succeeded: Payload Media document {state.result_media_id}, {state.result_url}"
        )
    if state.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return f"{job} {state.status.value}: {state.error}"
    return (
        f"{job} is {state.status.value} ({state.progress}%, {state.stage}); follow it with "
        f'{JOB_STATUS} {{"jobId": "{state.job_id}", "wait": true}}'
    )


async def _tool_error(request: Request, exc: Exception) -> CallToolResult:
    """The error as a tool result, answered by the handler REST would use."""
    handler = next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
    response = await handler(request, exc)
    body = json.loads(bytes(response.body))
    return CallToolResult(
        content=[TextContent(type="text", text=body["error"]["message"])],
        structured_content=body,
        is_error=True,
    )
