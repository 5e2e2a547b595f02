"""Who is calling, and may they export this project? Payload decides.

REST and MCP callers present their own Payload credentials (`<collection> API-Key <key>`,
`JWT <token>` or `Bearer <token>`). The service asks Payload who they are and whether
they can read the project *as themselves*, so Payload's access control is the only rule.
Approvals (who the caller is, that they may read a project) are cached in this process
for EXPORT_AUTH_CACHE_TTL_S under a hash of the header, so revoking access takes effect
within that time (0: ask Payload every time). Refusals are never cached: a caller who is
refused now and granted access a moment later is let in at once. The credentials
themselves are never stored, logged or written to Redis.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app.errors import APIError
from app.settings import Settings
from cms_client import (
    CMSError,
    CMSForbidden,
    CMSNotFound,
    CMSUnauthorized,
    CMSUnavailable,
    CMSValidationError,
    PayloadClient,
)

CACHE_MAX_ENTRIES = 10_000

_API_KEY = re.compile(r"^(?P<collection>[A-Za-z0-9_-]+) API-Key (?P<key>\S+)$")
_TOKEN = re.compile(r"^(JWT|Bearer) \S+$")


@dataclass(frozen=True)
class Caller:
    """An authenticated Payload user and the header that proves it (kept in memory only)."""

    user: dict[str, Any]
    authorization: str
    collection: str

    @property
    def user_id(self) -> int | str | None:
        value = self.user.get("id")
        return value if isinstance(value, int | str) else None

    @property
    def label(self) -> str:
        return f"{self.collection} {self.user_id}"

    @property
    def display_name(self) -> str:
        """How the person appears in sentences: their email, else collection and id."""
        email = self.user.get("email")
        return email if isinstance(email, str) and email else self.label


class _TTLCache:
    """Approvals only; `put` with a TTL of 0 keeps nothing."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._items: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[str, ...]) -> Any:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: tuple[str, ...], value: Any) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._items) >= CACHE_MAX_ENTRIES:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl_s, value)


class Authenticator:
    """Turns an Authorization header into a `Caller`, asking Payload."""

    def __init__(self, cms: PayloadClient, settings: Settings) -> None:
        self.cms = cms
        self.settings = settings
        self._cache = _TTLCache(settings.auth_cache_ttl_s)

    async def caller(self, conn: HTTPConnection) -> Caller:
        header = conn.headers.get("authorization", "").strip()
        return await self.caller_from_header(header)

    async def caller_from_header(self, header: str) -> Caller:
        collection = self._collection_of(header)
        key = ("me", _digest(header))
        cached = self._cache.get(key)
        if cached is None:
            cached = await run_in_threadpool(self._who_is, header, collection)
            self._cache.put(key, cached)
        return Caller(user=cached, authorization=header, collection=collection)

    async def require_project(self, caller: Caller, project_id: int | str) -> int | str:
        """Raise 403/404 unless Payload lets this caller read the project; its id as
        Payload spells it (`"17"` asked of a Payload with numeric ids is 17)."""
        key = ("project", _digest(caller.authorization), str(project_id))
        cached = self._cache.get(key)
        if cached is not None:
            return cast(int | str, cached)
        canonical = await run_in_threadpool(self._read_project, caller, project_id)
        self._cache.put(key, canonical)
        return canonical

    def _collection_of(self, header: str) -> str:
        if not header:
            raise APIError(
                401,
                "unauthenticated",
                "send your Payload credentials in the Authorization header "
                f"('{self.settings.payload_auth_collection} API-Key <key>' or 'JWT <token>')",
                headers={"WWW-Authenticate": "API-Key, Bearer"},
            )
        match = _API_KEY.match(header)
        if match:
            return match.group("collection")
        if _TOKEN.match(header):
            return self.settings.payload_auth_collection
        raise APIError(
            401,
            "unauthenticated",
            "the Authorization header is not '<collection> API-Key <key>', 'JWT <token>' "
            "or 'Bearer <token>'",
            headers={"WWW-Authenticate": "API-Key, Bearer"},
        )

    def _who_is(self, header: str, collection: str) -> dict[str, Any]:
        try:
            user = self.cms.as_caller(header).me(collection)
        except (CMSForbidden, CMSUnauthorized, CMSNotFound):
            user = None
        if user is None:
            raise APIError(
                401,
                "unauthenticated",
                "Payload does not recognise these credentials; check the API key or log in again",
                headers={"WWW-Authenticate": "API-Key, Bearer"},
            )
        return user

    def _read_project(self, caller: Caller, project_id: int | str) -> int | str:
        projects = self.settings.collections.projects
        try:
            doc = self.cms.as_caller(caller.authorization).get(projects, project_id, depth=0)
        except (CMSNotFound, CMSValidationError) as exc:
            raise _project_not_found(project_id) from exc
        except CMSUnavailable as exc:
            if exc.status is None or not self._payload_answers():
                raise
            # Payload is up and failed on this id alone: an id of a shape its database
            # cannot look up ("abc" where ids are numbers). The caller's error, not an outage.
            raise _project_not_found(project_id) from exc
        except CMSForbidden as exc:
            raise APIError(
                403,
                "forbidden",
                f"Payload does not let {caller.label} read project {project_id}",
                field="projectId",
            ) from exc
        canonical = doc.get("id")
        return canonical if isinstance(canonical, int | str) else project_id

    def _payload_answers(self) -> bool:
        """Whether Payload answers the service's own request (it is not down)."""
        try:
            self.cms.me(self.settings.payload_auth_collection)
        except CMSError:
            return False
        return True


def _project_not_found(project_id: int | str) -> APIError:
    return APIError(
        404,
        "project_not_found",
        f"project {project_id} does not exist or you cannot see it",
        field="projectId",
    )


def _digest(header: str) -> str:
    return hashlib.sha256(header.encode()).hexdigest()
