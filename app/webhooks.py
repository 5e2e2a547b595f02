"""`POST /webhooks/payload`: export requests created or re-run in the Payload admin.

The Payload plugin signs every delivery: `X-Export-Signature: t=<unix s>,v1=<hex>` where
hex is HMAC-SHA256 over `"<t>." + body` with EXPORT_WEBHOOK_SECRET (several secrets may
be configured, comma-separated, to rotate without downtime). The receiver:

- refuses a missing, malformed, wrong or stale (over `REPLAY_WINDOW_S` away) signature
  with 401, comparing in constant time;
- takes the export from the webhook body, never by reading the document back, because
  Payload's `afterChange` runs before its transaction commits;
- queues a document once however often it is delivered: a claim in Redis keyed by the
  document id and the run (creation, or the update that set a failed or cancelled request
  back to `queued`, which is a deliberate re-run);
- ignores the service's own write-backs and every other change (202, with the reason);
- submits through the one door (`app.submissions`) like every other entry. The plugin
  attests who is acting: it lets a person create a request, or set one back to `queued`,
  only after Payload's access control let that person read the request's project at that
  moment, and names them in the delivery's `user`. A re-run is therefore a new request by
  the person who made the change. The project is the document's `project` relation and
  nothing else; `params` is validated like a REST body (an unknown key is a 422 naming it,
  written onto the document).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.errors import APIError
from app.events import events_path
from app.job_lookup import JOB_ID, lookup_job
from app.submissions import (
    Requester,
    Services,
    Submission,
    record_refusal,
    refusal_sentence,
    submit,
)
from app.web import read_body, services_of, websocket_origin
from jobs import quotas
from jobs.kinds import ExportKind, kind_of
from jobs.state import ExportType, JobStatus

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-export-signature"
REPLAY_WINDOW_S = 300
EVENT = "export-requests.afterChange"
CLAIM_PREFIX = "export:claim:"
CLAIMED = "claimed"
#: Most documents one sweep redelivers (the rest wait for the next sweep).
REDELIVER_BATCH = 50

_SIGNATURE = re.compile(r"^t=(?P<t>\d{1,12}),(?P<sigs>v1=[0-9a-f]{64}(,v1=[0-9a-f]{64})*)$")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body`, as the plugin computes it."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    header: str, body: bytes, secrets: tuple[str, ...], *, now: float | None = None
) -> None:
    """Raise a 401 `APIError` unless one secret signed `body` within the replay window."""
    match = _SIGNATURE.match(header.strip())
    if not match:
        raise _unsigned(
            "the X-Export-Signature header is missing or malformed "
            "(expected t=<unix seconds>,v1=<hex HMAC-SHA256>)"
        )
    timestamp = int(match.group("t"))
    now = time.time() if now is None else now
    if abs(now - timestamp) > REPLAY_WINDOW_S:
        raise _unsigned(
            f"the signature's timestamp is more than {REPLAY_WINDOW_S} s from "
            "now; check the clocks, or this is a replayed delivery"
        )
    given = [part[3:] for part in match.group("sigs").split(",")]
    for secret in secrets:
        expected = sign(secret, body, timestamp).split("v1=", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise _unsigned("the signature does not match; check EXPORT_WEBHOOK_SECRET on both sides")


def _unsigned(message: str) -> APIError:
    return APIError(401, "invalid_signature", message)


@dataclass(frozen=True)
class Delivery:
    """The parts of a plugin webhook the receiver acts on."""

    operation: str
    user: dict[str, Any] | None
    doc: dict[str, Any]
    previous: dict[str, Any]

    @property
    def doc_id(self) -> int | str | None:
        value = self.doc.get("id")
        return value if isinstance(value, int | str) else None


async def signed_body(request: Request) -> bytes:
    """The raw body of a request the Payload plugin signed; 401/503 otherwise."""
    secrets = tuple(str(s) for s in services_of(request).settings.webhook_secrets)
    if not secrets:
        raise APIError(
            503,
            "webhooks_not_configured",
            "set EXPORT_WEBHOOK_SECRET to receive webhooks from Payload",
        )
    body = await read_body(request)
    verify_signature(request.headers.get(SIGNATURE_HEADER, ""), body, secrets)
    return body


async def payload_webhook(request: Request) -> Response:
    services = services_of(request)
    body = await signed_body(request)
    delivery = _parse(body, services.settings.collections.export_requests)
    if isinstance(delivery, str):
        return _ignored(delivery)
    return JSONResponse(await handle_delivery(services, delivery), status_code=202)


def _parse(body: bytes, collection: str) -> Delivery | str:
    value = _json_object(body)
    if value.get("event") != EVENT or value.get("collection", collection) != collection:
        return f"event {value.get('event')!r} is not one this service acts on"
    doc, previous = value.get("doc"), value.get("previousDoc") or {}
    if not isinstance(doc, dict) or not isinstance(previous, dict):
        raise APIError(400, "invalid_webhook", "the webhook has no 'doc' object")
    user = value.get("user") if isinstance(value.get("user"), dict) else None
    return Delivery(operation=str(value.get("operation")), user=user, doc=doc, previous=previous)


def _ignored(reason: str) -> Response:
    return JSONResponse({"queued": False, "reason": reason}, status_code=202)


async def handle_delivery(services: Services, delivery: Delivery) -> dict[str, Any]:
    """Queue the export the delivery asks for, once; say why when it asks for none."""
    reason = await run_in_threadpool(_reason_to_ignore, services, delivery)
    if reason:
        return {"queued": False, "reason": reason}
    claim = claim_key(delivery.doc_id, run_of(delivery))
    if not await run_in_threadpool(take_claim, services, claim):
        return {"queued": False, "reason": "this delivery was already handled"}
    return await submit_claimed(services, delivery, claim)


async def submit_claimed(services: Services, delivery: Delivery, claim: str) -> dict[str, Any]:
    """Submit the document's request through the one door, under a claim this process took."""
    assert delivery.doc_id is not None, "deliveries without a document id are ignored"
    try:
        submission = _submission_of(delivery)
    except APIError as exc:
        await run_in_threadpool(record_refusal, services, delivery.doc_id, exc)
        return {"queued": False, "reason": refusal_sentence(exc)}
    try:
        state = await submit(services, submission)
    except (APIError, quotas.QuotaExceeded) as exc:  # the door wrote it onto the document
        return {"queued": False, "reason": refusal_sentence(exc)}
    await run_in_threadpool(claimed_by, services, claim, state.job_id)
    logger.info(
        "job %s: queued from export request %s (%s)",
        state.job_id,
        delivery.doc_id,
        delivery.operation,
    )
    return {"queued": True, "jobId": state.job_id}


def run_of(delivery: Delivery) -> str:
    """Which run of the document a delivery asks for: its creation, or a re-run."""
    return "create" if delivery.operation == "create" else str(delivery.doc.get("updatedAt"))


def claim_key(doc_id: int | str | None, run: str) -> str:
    return f"{CLAIM_PREFIX}{doc_id}:{run}"


def take_claim(services: Services, claim: str) -> bool:
    """Take the run for this process; the claim then holds CLAIMED, later the job id."""
    return bool(services.redis.set(claim, CLAIMED, nx=True, ex=services.settings.job_ttl_s))


def claimed_by(services: Services, claim: str, job_id: str) -> None:
    services.redis.set(claim, job_id, xx=True, keepttl=True)


def _reason_to_ignore(services: Services, delivery: Delivery) -> str | None:
    if delivery.doc_id is None:
        return "the document has no id"
    if _is_service(services, delivery.user):
        return "a write-back by the export service itself"
    status = delivery.doc.get("status")
    if delivery.operation == "create":
        if status != JobStatus.QUEUED.value:
            return f"created with status {status!r}, not 'queued'"
        if delivery.doc.get("jobId"):
            return "already queued by the service (it has a jobId)"
        return None
    if status == JobStatus.QUEUED.value and _was_rerunnable(delivery.previous.get("status")):
        return None  # a person set an ended request back to queued: a deliberate re-run
    return "an update that does not ask for a run"


def _was_rerunnable(status: object) -> bool:
    return status in {s.value for s in JobStatus if s.can_rerun}


def _is_service(services: Services, user: dict[str, Any] | None) -> bool:
    if not user:
        return False
    roles = user.get("roles")
    if isinstance(roles, list) and "export-service" in roles:
        return True
    service_user = services.service_user()
    return service_user is not None and (
        user.get("id") == service_user.get("id")
        and user.get("collection", services.settings.payload_auth_collection)
        == services.settings.payload_auth_collection
    )


def _submission_of(delivery: Delivery) -> Submission:
    """The request the document makes, by the person the plugin names as acting.

    The project is the document's `project` relation; `params` is the rest of the body,
    validated by the door like a REST body.
    """
    doc = delivery.doc
    params = {} if doc.get("params") is None else doc["params"]
    if not isinstance(params, dict):
        raise APIError(422, "invalid_field", "params must be a JSON object", field="params")
    return Submission(
        _kind_of(doc),
        params,
        Requester(source="admin", user_id=_acting_user(delivery)),
        request_doc_id=delivery.doc_id,
        project_id=_id_of(doc.get("project")),
    )


def _kind_of(doc: dict[str, Any]) -> ExportKind:
    try:
        return kind_of(ExportType(str(doc.get("type"))))
    except ValueError as exc:
        raise APIError(
            422,
            "invalid_field",
            f"type {doc.get('type')!r} is not an export type "
            f"({', '.join(t.value for t in ExportType)})",
            field="type",
        ) from exc


def _acting_user(delivery: Delivery) -> int | str | None:
    """Who made the change: the delivery's user, else (older plugins) the requester."""
    for value in ((delivery.user or {}).get("id"), _id_of(delivery.doc.get("requestedBy"))):
        if isinstance(value, int | str):
            return value
    return None


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def payload_ticket(request: Request) -> Response:
    """`POST /webhooks/payload/ticket`: a signed `eventsUrl` for the Payload admin.

    The admin has no service credentials, so the plugin asks on the editor's behalf once
    Payload's own access control has let the editor read the export request. The body
    `{"jobId", "exportRequestId", "user"}` is signed like a webhook; the job must belong
    to that export request. The answer holds the same short-lived ticket `GET /jobs/{id}`
    hands out.
    """
    services = services_of(request)
    data = _json_object(await signed_body(request))
    job_id = data.get("jobId")
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise APIError(422, "invalid_field", "jobId must be a job id", field="jobId")
    state = await lookup_job(services, job_id)
    doc_id = data.get("exportRequestId")
    if doc_id is not None and str(state.request_doc_id) != str(doc_id):
        raise APIError(
            409,
            "job_mismatch",
            f"job {job_id} does not belong to export request {doc_id}",
            field="exportRequestId",
        )
    path = events_path(job_id, request.app.state.ticket_key)
    return JSONResponse(
        {
            "jobId": job_id,
            "eventsUrl": websocket_origin(request) + path,
            "eventsPath": path,
            "expiresAt": int(path.rsplit(".", 2)[1]),
        },
        headers={"Cache-Control": "no-store"},
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise APIError(400, "invalid_json", "the body must be a JSON object")
    return value
