"""Short-lived signed tickets that let a browser watch one job's events.

Browsers cannot set headers on a WebSocket, so `GET /jobs/{id}` hands out an `eventsUrl`
carrying `?ticket=<job id>.<expiry>.<hmac>`. The key is derived from the service's own
Payload API key, so every web process accepts every other's tickets with no extra setting,
and rotating that key revokes them all.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TICKET_TTL_S = 300
_CONTEXT = b"export-service/events-ticket/v1"


class TicketError(Exception):
    """The ticket is malformed, forged, for another job, or expired."""


def ticket_key(service_api_key: str) -> bytes:
    return hmac.new(service_api_key.encode(), _CONTEXT, hashlib.sha256).digest()


def issue(key: bytes, job_id: str, *, ttl_s: int = TICKET_TTL_S, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"{job_id}.{expires}.{_mac(key, job_id, expires)}"


def verify(key: bytes, ticket: str, job_id: str, *, now: float | None = None) -> None:
    parts = ticket.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        raise TicketError("the ticket is malformed")
    ticket_job, expires, mac = parts[0], int(parts[1]), parts[2]
    if not hmac.compare_digest(mac, _mac(key, ticket_job, expires)):
        raise TicketError("the ticket's signature is not valid")
    if ticket_job != job_id:
        raise TicketError("the ticket is for another job")
    if (time.time() if now is None else now) > expires:
        raise TicketError("the ticket has expired; fetch a new eventsUrl from GET /jobs/{id}")


def _mac(key: bytes, job_id: str, expires: int) -> str:
    return hmac.new(key, f"{job_id}.{expires}".encode(), hashlib.sha256).hexdigest()
