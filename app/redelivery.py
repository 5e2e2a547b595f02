"""Export requests whose webhook never arrived: found in Payload and queued by the sweeper.

The plugin retries its deliveries, but one can still be lost (the service down for longer
than the retries, a serverless host frozen mid-POST). Every sweep, one web process asks
Payload for `export-requests` still `queued`, with no `jobId`, unchanged for
EXPORT_REDELIVER_AFTER_S, and looks at the webhook claim of each one's current run:

- no claim: the delivery never came. The request goes through the one door as the webhook
  would have sent it, on behalf of the person who requested it (the plugin checked them
  when they made the change), under the same claim, so a late delivery does nothing;
- a claim holding a job id: the job waits on the queue; nothing to do;
- a claim still `claimed` past the delay: a web process died between claiming and
  queueing. The request is failed with a sentence, and the editor may re-run it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.submissions import Services
from app.webhooks import CLAIMED, Delivery, claim_key, run_of, submit_claimed, take_claim
from jobs.export_requests import mark_failed
from jobs.state import JobStatus

logger = logging.getLogger(__name__)

LOCK_KEY = "export:redeliver-lock"
BATCH = 50
LOST_IN_SERVICE = (
    "the export service received this request but stopped before queueing it; "
    "nothing was exported: set the status back to queued to run it"
)


async def redeliver_lost(services: Services) -> list[Any]:
    """Queue (or fail) requests left `queued` without a job; the ids of those it queued."""
    lock_s = max(1, int(services.settings.sweep_interval_s / 2))
    if not services.redis.set(LOCK_KEY, "1", nx=True, ex=lock_s):
        return []
    queued = []
    for doc in await run_in_threadpool(_stranded, services):
        if await _recover(services, doc):
            queued.append(doc.get("id"))
    return queued


def _stranded(services: Services) -> list[dict[str, Any]]:
    cutoff = datetime.now(UTC) - timedelta(seconds=services.settings.redeliver_after_s)
    page = services.cms.find(
        services.settings.collections.export_requests,
        where={
            "status": {"equals": JobStatus.QUEUED.value},
            "jobId": {"exists": False},
            "updatedAt": {"less_than": cutoff.isoformat().replace("+00:00", "Z")},
        },
        limit=BATCH,
        depth=0,
    )
    docs = page.get("docs") or []
    return [doc for doc in docs if isinstance(doc, dict)]


async def _recover(services: Services, doc: dict[str, Any]) -> bool:
    created = doc.get("createdAt") == doc.get("updatedAt")
    delivery = Delivery(
        operation="create" if created else "update", user=None, doc=doc, previous={}
    )
    claim = claim_key(delivery.doc_id, run_of(delivery))
    held = services.redis.get(claim)
    if held is None:
        if not await run_in_threadpool(take_claim, services, claim):
            return False  # a delivery arrived just now
        logger.info("export request %s: its webhook never came; queueing it", delivery.doc_id)
        outcome = await submit_claimed(services, delivery, claim)
        return bool(outcome["queued"])
    if held in (CLAIMED, CLAIMED.encode()):
        collection = services.settings.collections.export_requests
        await run_in_threadpool(mark_failed, services.cms, collection, doc["id"], LOST_IN_SERVICE)
    return False
