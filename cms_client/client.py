"""A thin, typed client for Payload 3's REST API on one `requests.Session`.

    client = PayloadClient("http://cms:3000", authorization="users API-Key …")
    project = client.get("projects", 17, depth=1)
    for script in client.find_all("scripts", where={"project": {"equals": 17}}):
        ...

Errors are mapped onto `cms_client.errors` and keep Payload's own message.
`as_caller(header)` gives a client that speaks with someone else's credentials over the
same connection pool, so Payload's access control decides what that caller may read.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import requests
import requests.adapters
from requests_toolbelt.multipart.encoder import MultipartEncoder

from cms_client.errors import (
    CMSBadResponse,
    CMSDocumentTooDeep,
    CMSError,
    CMSForbidden,
    CMSNotFound,
    CMSUnauthorized,
    CMSUnavailable,
    CMSValidationError,
    cms_error_of,
    redact_url,
)
from cms_client.fetch import FetchError, FetchPolicy, open_stream, origin_of
from cms_client.json_depth import MAX_DOCUMENT_DEPTH, deep_path, deep_path_in_text, field_of
from cms_client.reading import PUBLISHED, Reading

logger = logging.getLogger(__name__)

Doc = dict[str, Any]
DocId = int | str

DEFAULT_TIMEOUT_S = (5.0, 60.0)
PAGE_LIMIT = 100


@dataclass(frozen=True)
class PayloadCall:
    """One finished call, for an `on_response` observer (metrics): no credentials in it.

    `path` is the API path (`/projects/17`) or `download` for a media stream; `status`
    is None when no answer came (`error` names the exception class); `bytes_received`
    is counted for downloads only.
    """

    method: str
    path: str
    status: int | None
    duration_s: float
    error: str | None = None
    bytes_received: int = 0


OnResponse = Callable[[PayloadCall], None]


class PayloadClient:
    """Payload's REST API, as one set of credentials sees it."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str | None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT_S,
        session: requests.Session | None = None,
        allowed_media_origins: tuple[str, ...] = (),
        on_response: OnResponse | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_url = f"{self.base_url}/api"
        self.origin = origin_of(self.base_url)
        self.timeout = timeout
        self.session = session or requests.Session()
        self._authorization = authorization
        # Observability hook (metrics): called after every API call and download.
        self.on_response = on_response
        self.fetch_policy = FetchPolicy(
            allowed_origins=frozenset((self.origin, *allowed_media_origins))
        )

    def __repr__(self) -> str:  # never show credentials
        return f"PayloadClient({self.base_url!r})"

    def as_caller(self, authorization: str) -> PayloadClient:
        """The same Payload, seen with a caller's own credentials."""
        client = PayloadClient(
            self.base_url,
            authorization=authorization,
            timeout=self.timeout,
            session=self.session,
            on_response=self.on_response,
        )
        client.fetch_policy = self.fetch_policy
        return client

    # -- documents -------------------------------------------------------------------

    def me(self, auth_collection: str) -> Doc | None:
        """Who these credentials belong to, or None when Payload knows no such user."""
        body = self._request("GET", f"/{auth_collection}/me")
        user = body.get("user")
        return cast(Doc, user) if isinstance(user, dict) else None

    def get(
        self, collection: str, doc_id: DocId, *, depth: int = 0, reading: Reading = PUBLISHED
    ) -> Doc:
        params = {"depth": depth, **reading.params()}
        return self._request("GET", f"/{collection}/{doc_id}", params=params)

    def get_path(self, path: str) -> Doc:
        """A JSON object from another API path, such as a plugin's endpoint (`/a/b`)."""
        return self._request("GET", path)

    def find(
        self,
        collection: str,
        *,
        where: Mapping[str, Any] | None = None,
        depth: int = 0,
        limit: int = PAGE_LIMIT,
        page: int = 1,
        sort: str | None = None,
        reading: Reading = PUBLISHED,
    ) -> Doc:
        """One page of a collection: Payload's `{docs, totalDocs, hasNextPage, …}`."""
        params: dict[str, Any] = {"depth": depth, "limit": limit, "page": page}
        params.update(reading.params())
        params.update(_where_params(where or {}))
        if sort:
            params["sort"] = sort
        return self._request("GET", f"/{collection}", params=params)

    def find_all(
        self,
        collection: str,
        *,
        where: Mapping[str, Any] | None = None,
        depth: int = 0,
        sort: str | None = None,
        reading: Reading = PUBLISHED,
    ) -> Iterator[Doc]:
        """Every matching document, page by page."""
        page = 1
        while True:
            body = self.find(
                collection, where=where, depth=depth, page=page, sort=sort, reading=reading
            )
            yield from body.get("docs", [])
            if not body.get("hasNextPage"):
                return
            page = int(body.get("nextPage") or page + 1)

    def create(self, collection: str, data: Mapping[str, Any], *, depth: int = 0) -> Doc:
        body = self._request("POST", f"/{collection}", params={"depth": depth}, json=data)
        return _doc_of(body, self.api_url)

    def update(
        self, collection: str, doc_id: DocId, data: Mapping[str, Any], *, depth: int = 0
    ) -> Doc:
        """PATCH a document; `overrideLock` so an editor's open form cannot block us."""
        body = self._request(
            "PATCH",
            f"/{collection}/{doc_id}",
            params={"depth": depth, "overrideLock": "true"},
            json=data,
        )
        return _doc_of(body, self.api_url)

    # -- files -----------------------------------------------------------------------

    def upload(
        self,
        collection: str,
        path: Path,
        *,
        filename: str,
        data: Mapping[str, Any],
        mime_type: str | None = None,
    ) -> Doc:
        """Upload a file to an upload collection, streaming it from disk."""
        mime_type = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        with path.open("rb") as fileobj:
            encoder = MultipartEncoder(
                fields={
                    "_payload": json.dumps(dict(data)),
                    "file": (filename, fileobj, mime_type),
                }
            )
            body = self._request(
                "POST",
                f"/{collection}",
                params={"depth": 0},
                data=encoder,
                headers={"Content-Type": encoder.content_type},
            )
        return _doc_of(body, self.api_url)

    def absolute_url(self, url: str) -> str:
        """Payload gives media URLs relative to its origin unless `serverURL` is set."""
        return (
            url if "://" in url else f"{self.base_url}{url if url.startswith('/') else '/' + url}"
        )

    @contextmanager
    def stream(self, url: str) -> Iterator[requests.Response]:
        """Open a media URL as a stream, under the fetch policy. Close it by leaving the block.

        A `FetchError` raised inside the block (by `iter_checked`, say) leaves it as the
        `CMSError` it stands for.
        """
        url = self.absolute_url(url)
        started = time.perf_counter()
        try:
            response = open_stream(
                url,
                policy=self.fetch_policy,
                headers_for=self._download_headers,
                timeout=self.timeout,
            )
        except FetchError as exc:
            self._observe("GET", "download", exc.status, started, error=type(exc).__name__)
            raise cms_error_of(exc) from exc
        with response:
            try:
                yield response
            except FetchError as exc:
                raise cms_error_of(exc) from exc
            finally:
                # urllib3 counts the bytes read off the wire (identity encoding: the file's).
                received = int(getattr(response.raw, "tell", lambda: 0)() or 0)
                self._observe("GET", "download", response.status_code, started, received=received)

    def _download_headers(self, url: str) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"}
        if origin_of(url) == self.origin and self._authorization:
            headers["Authorization"] = self._authorization
        return headers

    # -- plumbing --------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        data: BinaryIO | MultipartEncoder | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Doc:
        url = f"{self.api_url}{path}"
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self._authorization:
            all_headers["Authorization"] = self._authorization
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=all_headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            self._observe(method, path, None, started, error=type(exc).__name__)
            raise CMSUnavailable(
                f"Payload did not answer {method} {path}: {exc.__class__.__name__}",
                url=url,
            ) from exc
        self._observe(method, path, response.status_code, started)
        logger.debug("payload %s %s -> %s", method, redact_url(response.url), response.status_code)
        return _json_or_raise(response, method, path)

    def _observe(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        *,
        error: str | None = None,
        received: int = 0,
    ) -> None:
        if self.on_response is None:
            return
        call = PayloadCall(
            method, path, status, time.perf_counter() - started, error, bytes_received=received
        )
        try:
            self.on_response(call)
        except Exception:  # an observer must never break a call
            logger.exception("on_response observer failed")


def _json_or_raise(response: requests.Response, method: str, path: str) -> Doc:
    try:
        body = response.json()
    except ValueError:
        body = None
    except RecursionError:
        raise _too_deep(deep_path_in_text(response.text), method, path, response.url) from None
    if (too_deep := deep_path(body)) is not None:
        raise _too_deep(too_deep, method, path, response.url)
    if response.status_code >= 400:
        raise _error_for(response.status_code, body, method, path, response.url)
    if not isinstance(body, dict):
        raise CMSBadResponse(
            f"Payload answered {method} {path} with HTTP {response.status_code} "
            "but the body is not a JSON object",
            status=response.status_code,
            url=response.url,
        )
    return cast(Doc, body)


def _too_deep(where: list[str | int], method: str, path: str, url: str) -> CMSDocumentTooDeep:
    field = field_of(where)
    return CMSDocumentTooDeep(
        f"Payload's answer to {method} {path} nests field '{field}' deeper than "
        f"{MAX_DOCUMENT_DEPTH} levels, more than an export can read; simplify that field "
        "(rich text with lists or quotes inside each other) and export again",
        field=field,
        limit=MAX_DOCUMENT_DEPTH,
        url=url,
    )


def _error_for(status: int, body: Any, method: str, path: str, url: str) -> CMSError:
    detail = _payload_message(body) or "no message"
    message = f"Payload answered {status} to {method} {path}: {detail}"
    if status == 400:
        return CMSValidationError(message, status=status, url=url, field_errors=_field_errors(body))
    kinds: dict[int, type[CMSError]] = {
        401: CMSUnauthorized,
        403: CMSForbidden,
        404: CMSNotFound,
    }
    if status >= 500:
        return CMSUnavailable(message, status=status, url=url)
    return kinds.get(status, CMSBadResponse)(message, status=status, url=url)


def _payload_message(body: Any) -> str:
    """Payload's `{"errors": [{"message": …, "data": {"errors": [{path, message}]}}]}`."""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return str(body.get("message", ""))
    parts = []
    for error in errors:
        if isinstance(error, dict):
            fields = _field_errors({"errors": [error]})
            detail = "; ".join(f"{f['path']}: {f['message']}" for f in fields)
            parts.append(f"{error.get('message', '')}" + (f" ({detail})" if detail else ""))
    return "; ".join(p for p in parts if p)


def _field_errors(body: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for error in (body or {}).get("errors", []) if isinstance(body, dict) else []:
        data = error.get("data") if isinstance(error, dict) else None
        for item in (data or {}).get("errors", []) if isinstance(data, dict) else []:
            if isinstance(item, dict):
                found.append(
                    {"path": str(item.get("path", "")), "message": str(item.get("message", ""))}
                )
    return found


def _doc_of(body: Doc, url: str) -> Doc:
    doc = body.get("doc")
    if not isinstance(doc, dict):
        raise CMSBadResponse(f"Payload's answer from {url} has no 'doc' object", url=url)
    return cast(Doc, doc)


def _where_params(where: Mapping[str, Any], prefix: str = "where") -> dict[str, str]:
    """Flatten `{"project": {"equals": 3}}` into Payload's `where[project][equals]=3`."""
    flat: dict[str, str] = {}
    for key, value in where.items():
        name = f"{prefix}[{key}]"
        if isinstance(value, Mapping):
            flat.update(_where_params(value, name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    flat.update(_where_params(item, f"{name}[{index}]"))
                else:
                    flat[f"{name}[{index}]"] = str(item)
        else:
            flat[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def pooled_session(size: int) -> requests.Session:
    """A session keeping up to `size` connections to each host (requests keeps 10), for a
    process whose threads call Payload at once (the web process's thread pool)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def api_key_authorization(collection: str, api_key: str) -> str:
    """The `Authorization` header for a Payload API key of an auth collection."""
    return f"{collection} API-Key {api_key}"
