"""Error answers from code the service does not own, rewritten into its JSON shape.

The MCP SDK answers transport refusals itself: plain text (`Invalid Content-Type header`,
`Request body too large`) or JSON-RPC error objects without an id. `JsonErrors` wraps an
ASGI `send` so that each of those leaves as the documented `{"error": {"code",
"message"}}`, with the same status and a sentence saying what to send instead.
Successful answers, streams, and JSON-RPC errors that reply to a request (they carry its
id, and MCP clients read them) pass through untouched.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Send

MAX_MESSAGE_CHARS = 300

#: What to tell a caller, by what the library said (a prefix of its text) or the status.
_BY_TEXT: tuple[tuple[str, str, str], ...] = (
    (
        "Invalid Content-Type",
        "unsupported_media_type",
        "MCP requests need the header Content-Type: application/json",
    ),
    (
        "Request body too large",
        "payload_too_large",
        "the MCP request body is larger than the server accepts; send smaller arguments",
    ),
    (
        "Not Acceptable",
        "not_acceptable",
        "MCP requests need the header Accept: application/json, text/event-stream",
    ),
)
_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
_JSON_RPC_CODES = {-32700: "invalid_json", -32600: "invalid_request", -32602: "invalid_request"}


class JsonErrors:
    """An ASGI `send` that turns error answers into the service's JSON error shape."""

    def __init__(self, send: Send, *, what: str = "the request") -> None:
        self._send = send
        self._what = what
        self._start: Message | None = None
        self._body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            self._start = message
            return
        if self._start is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._body.extend(message.get("body", b""))
        if message.get("more_body", False):
            return
        if _answers_a_request(bytes(self._body)):
            # A JSON-RPC error replying to a request (it has an id) is the protocol's own
            # answer, which MCP clients read (docs/mcp.md): it passes as it is.
            await self._send(self._start)
            await self._send({"type": "http.response.body", "body": bytes(self._body)})
            return
        await self._send_rewritten(self._start["status"])

    async def _send_rewritten(self, status: int) -> None:
        assert self._start is not None
        code, text = describe(status, bytes(self._body))
        body = json.dumps({"error": {"code": code, "message": text}}).encode()
        headers = [
            (name, value)
            for name, value in self._start.get("headers", [])
            if name.lower() not in (b"content-type", b"content-length")
        ]
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})


def describe(status: int, body: bytes) -> tuple[str, str]:
    """The error code and sentence for a library's error answer."""
    text = body.decode("utf-8", "replace").strip()
    rpc_code, message = _json_rpc_error(text) or (None, text[:MAX_MESSAGE_CHARS])
    for prefix, code_name, sentence in _BY_TEXT:
        if message.startswith(prefix):
            return code_name, sentence
    code = _BY_STATUS.get(status, "http_error")
    if status == 400 and rpc_code is not None:
        code = _JSON_RPC_CODES.get(rpc_code, code)
    return code, message or f"HTTP {status}"


def _answers_a_request(body: bytes) -> bool:
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "jsonrpc" in parsed and parsed.get("id") is not None


def _json_rpc_error(text: str) -> tuple[int, str] | None:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return None
    first_line = str(error.get("message") or "").split("\n", 1)[0]
    return int(error["code"]), first_line[:MAX_MESSAGE_CHARS] or "the request was refused"
