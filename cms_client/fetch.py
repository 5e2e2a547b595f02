"""Guarded, streaming downloads: only from allowed origins, never whole files in memory.

    response = open_stream(url, policy=policy, headers_for=headers, timeout=(5, 60))
    with response, path.open("wb") as out:
        result = copy_to(iter_checked(response, url=response.url, max_bytes=limit), out)

Every download goes through `open_stream`, which follows redirects by hand so that each
hop is checked against the `FetchPolicy` (scheme, origin, resolved address) before a
connection is made, and then connects to the very address that was checked
(`PinnedAdapter`): a name that answers one address to the check and another to the
connection (DNS rebinding) cannot move the download. The Host header and the TLS server
name stay the URL's host, so virtual hosts and certificates work as before.

This module knows nothing of Payload; it raises its own errors, which callers map onto
their boundary's tree (`cms_client.client` maps them onto `CMSError` `from exc`):

    FetchError                  a guarded download that did not happen or did not finish
    ├── OriginNotAllowed        not http(s), credentials in the URL, an origin not on the
    │                           allow-list, or too many redirects
    ├── AddressRefused          the host resolves to a link-local, multicast, reserved or
    │                           unspecified address, or to nothing at all
    ├── TooLarge                announced or received bytes over the caller's limit
    └── FetchFailed             no answer, or an HTTP error status (`status` when known)
        └── Incomplete          the bytes received differ from what was announced

Each carries the URL without its query string (signed URLs carry secrets there).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK_BYTES = 1024 * 1024
MAX_REDIRECTS = 5

Resolver = Callable[[str], list[str]]
HeadersFor = Callable[[str], Mapping[str, str]]


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: secrets live there."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class FetchError(Exception):
    """Base of every error raised by a guarded download."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.url = redact_url(url) if url else None
        self.status = status

    def __str__(self) -> str:
        return self.message


class OriginNotAllowed(FetchError):
    """The URL's scheme, credentials or origin is not allowed, or redirects went on too long."""


class AddressRefused(FetchError):
    """The host resolves to an address downloads may never reach, or to none."""


class TooLarge(FetchError):
    """More bytes than the caller's limit were announced or sent."""


class FetchFailed(FetchError):
    """The server could not be reached or answered with an HTTP error status."""


class Incomplete(FetchFailed):
    """The bytes received differ from what the server or the caller announced."""


def origin_of(url: str) -> str:
    """`scheme://host[:port]`, lower-cased, default ports left out: what allow-lists hold."""
    parts = urlsplit(url)
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives `host` (none when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return [str(info[4][0]) for info in infos]


def _system_resolver(host: str) -> list[str]:
    # Looked up at call time, so a test can stand in for DNS (tests/conftest.py).
    return resolve_host(host)


@dataclass(frozen=True)
class FetchPolicy:
    """Which URLs a worker may download from.

    `allowed_origins` holds the CMS origin plus any storage origins a deployment lists
    in EXPORT_ALLOWED_MEDIA_ORIGINS. Link-local, multicast and unspecified addresses
    (cloud metadata endpoints live there) are refused even for an allowed host name;
    `open_stream` then connects to the address checked here, which defeats DNS rebinding.
    """

    allowed_origins: frozenset[str]
    resolver: Resolver = field(default=_system_resolver)

    def check(self, url: str) -> str:
        """The address `url` may be fetched from; raise unless it may be. No connection."""
        parts = urlsplit(url)
        self._check_origin(url)
        host = parts.hostname or ""
        addresses = self.resolver(host)
        if not addresses:
            raise AddressRefused(
                f"refused to fetch {redact_url(url)}: {host} does not resolve to an address",
                url=url,
            )
        for address in addresses:
            _refuse_unusable(address, url, host)
        return addresses[0].split("%")[0]

    def _check_origin(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise OriginNotAllowed(
                f"refused to fetch {redact_url(url)}: only http and https URLs are allowed",
                url=url,
            )
        if parts.username or parts.password:
            raise OriginNotAllowed(
                f"refused to fetch {redact_url(url)}: credentials in the URL", url=url
            )
        origin = origin_of(url)
        if origin not in self.allowed_origins:
            allowed = ", ".join(sorted(self.allowed_origins)) or "none"
            raise OriginNotAllowed(
                f"refused to fetch {redact_url(url)}: {origin} is not an allowed origin "
                f"(allowed: {allowed}; add it to EXPORT_ALLOWED_MEDIA_ORIGINS if it is trusted)",
                url=url,
            )


def _refuse_unusable(address: str, url: str, host: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        raise AddressRefused(
            f"refused to fetch {redact_url(url)}: {host} resolves to "
            f"{ip}, a link-local or reserved address",
            url=url,
        )


# -- connecting to the checked address ------------------------------------------------------


def _pinned_pools(address: str) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections open a socket to `address`, whatever the URL's host.

    urllib3 uses `_dns_host` only to open the socket; `host` (the Host header, the TLS
    server name and certificate check) reads it too, so it is swapped for that one call.
    """

    def new_conn(conn: HTTPConnection, opener: Callable[[HTTPConnection], socket.socket]) -> Any:
        name = conn._dns_host
        conn._dns_host = address
        try:
            return opener(conn)
        finally:
            conn._dns_host = name

    class Pinned(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return new_conn(self, HTTPConnection._new_conn)  # type: ignore[no-any-return]

    class PinnedTLS(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return new_conn(self, HTTPSConnection._new_conn)  # type: ignore[no-any-return]

    class Pool(HTTPConnectionPool):
        ConnectionCls = Pinned

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedTLS

    return {"http": Pool, "https": TLSPool}


class PinnedAdapter(HTTPAdapter):
    """A transport adapter that connects to one checked address, keeping Host and SNI."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pinned_pools(self.address)


def open_stream(
    url: str,
    *,
    policy: FetchPolicy,
    headers_for: HeadersFor,
    timeout: tuple[float, float],
) -> requests.Response:
    """GET `url` as a stream, checking every redirect hop against `policy`.

    The caller must close the response (use it as a context manager).
    """
    for _ in range(MAX_REDIRECTS + 1):
        address = policy.check(url)
        response = _get(url, address, headers=headers_for(url), timeout=timeout)
        if not response.is_redirect:
            _raise_for_status(response, url)
            return response
        location = response.headers.get("location", "")
        response.close()
        url = urljoin(url, location)
    raise OriginNotAllowed(
        f"too many redirects (over {MAX_REDIRECTS}) fetching {redact_url(url)}", url=url
    )


def _get(
    url: str, address: str, *, headers: Mapping[str, str], timeout: tuple[float, float]
) -> requests.Response:
    # One connection per hop, closed with the response: it belongs to that address only.
    request = requests.Request("GET", url, headers={**headers, "Connection": "close"})
    try:
        return PinnedAdapter(address).send(request.prepare(), stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise FetchFailed(
            f"could not download {redact_url(url)}: {exc.__class__.__name__}", url=url
        ) from exc


def _raise_for_status(response: requests.Response, url: str) -> None:
    if response.status_code < 400:
        return
    response.close()
    status = response.status_code
    raise FetchFailed(
        f"downloading {redact_url(url)} failed: HTTP {status}", url=url, status=status
    )


# -- reading the body -----------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadResult:
    """What `copy_to` wrote: the byte count and the SHA-256 of those bytes."""

    bytes: int
    sha256: str


def iter_checked(
    response: requests.Response,
    *,
    url: str,
    max_bytes: int,
    expected_size: int | None = None,
    limit_name: str | None = None,
) -> Iterator[bytes]:
    """Yield the body in chunks, enforcing `max_bytes` and the announced size.

    `expected_size` is what the caller was told the file holds; a `Content-Length` that
    disagrees with it is refused before any byte is read, and a body that ends short
    of (or runs past) the size raises `Incomplete`. `limit_name` (a setting's name) is
    how refusals name `max_bytes`.
    """
    limit = f"the limit of {max_bytes:,} bytes"
    if limit_name:
        limit = f"{limit_name} ({max_bytes:,} bytes)"
    expected_size = _expected_size(response, url, expected_size)
    if expected_size is not None and expected_size > max_bytes:
        raise TooLarge(f"{redact_url(url)} is {expected_size:,} bytes, over {limit}", url=url)
    received = 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                raise TooLarge(f"{redact_url(url)} sent more than {limit}", url=url)
            if expected_size is not None and received > expected_size:
                raise Incomplete(
                    f"download of {redact_url(url)} sent more than the {expected_size:,} bytes "
                    "announced",
                    url=url,
                )
            yield chunk
    except requests.RequestException as exc:
        raise Incomplete(
            f"download of {redact_url(url)} broke off after {received:,} bytes: "
            f"{exc.__class__.__name__}",
            url=url,
        ) from exc
    if expected_size is not None and received != expected_size:
        raise Incomplete(
            f"download of {redact_url(url)} ended after {received:,} of {expected_size:,} bytes",
            url=url,
        )


def _expected_size(response: requests.Response, url: str, expected: int | None) -> int | None:
    header = response.headers.get("content-length", "")
    announced = int(header) if header.isdigit() else None
    if expected is None or announced is None or announced == expected:
        return expected if expected is not None else announced
    raise Incomplete(
        f"{redact_url(url)} announces {announced:,} bytes (Content-Length) but its record "
        f"reports {expected:,}",
        url=url,
    )


def copy_to(chunks: Iterator[bytes], dest: BinaryIO) -> DownloadResult:
    """Write chunks to `dest`, hashing as they pass."""
    digest = hashlib.sha256()
    total = 0
    for chunk in chunks:
        digest.update(chunk)
        dest.write(chunk)
        total += len(chunk)
    return DownloadResult(bytes=total, sha256=digest.hexdigest())
