"""Guarded, streaming downloads: only from allowed origins, never whole files in memory.

Every download goes through `open_stream`, which follows redirects by hand so that each
hop is checked against the `FetchPolicy` (scheme, origin, resolved address) before a
connection is made. Credentials are sent only to the CMS origin.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from cms_client.errors import (
    CMSError,
    CMSNotFound,
    CMSUnavailable,
    DownloadIncomplete,
    FetchRefused,
    redact_url,
)

CHUNK_BYTES = 1024 * 1024
MAX_REDIRECTS = 5

Resolver = Callable[[str], list[str]]


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


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []  # nothing to check: the connection itself will fail to resolve
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class FetchPolicy:
    """Which URLs a worker may download from.

    `allowed_origins` holds the CMS origin plus any storage origins a deployment lists
    in EXPORT_ALLOWED_MEDIA_ORIGINS. Link-local, multicast and unspecified addresses
    (cloud metadata endpoints live there) are refused even for an allowed host name,
    which also defeats DNS rebinding towards them.
    """

    allowed_origins: frozenset[str]
    resolver: Resolver = _resolve

    def check(self, url: str) -> None:
        """Raise `FetchRefused` unless `url` may be fetched; no connection is made."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(
                f"refused to fetch {redact_url(url)}: only http and https URLs are allowed"
            )
        if parts.username or parts.password:
            raise FetchRefused(f"refused to fetch {redact_url(url)}: credentials in the URL")
        origin = origin_of(url)
        if origin not in self.allowed_origins:
            allowed = ", ".join(sorted(self.allowed_origins)) or "none"
            raise FetchRefused(
                f"refused to fetch {redact_url(url)}: {origin} is not an allowed origin "
                f"(allowed: {allowed}; add it to EXPORT_ALLOWED_MEDIA_ORIGINS if it is trusted)"
            )
        for address in self.resolver(parts.hostname or ""):
            ip = ipaddress.ip_address(address.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
                raise FetchRefused(
                    f"refused to fetch {redact_url(url)}: {parts.hostname} resolves to "
                    f"{ip}, a link-local or reserved address"
                )


@dataclass(frozen=True)
class DownloadResult:
    """What `copy_to` wrote: the byte count and the SHA-256 of those bytes."""

    bytes: int
    sha256: str


HeadersFor = Callable[[str], Mapping[str, str]]


def open_stream(
    session: requests.Session,
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
        policy.check(url)
        try:
            response = session.get(
                url,
                headers=dict(headers_for(url)),
                stream=True,
                allow_redirects=False,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise CMSUnavailable(
                f"could not download {redact_url(url)}: {exc.__class__.__name__}", url=url
            ) from exc
        if not response.is_redirect:
            _raise_for_download_status(response, url)
            return response
        location = response.headers.get("location", "")
        response.close()
        url = urljoin(url, location)
    raise FetchRefused(f"too many redirects (over {MAX_REDIRECTS}) fetching {redact_url(url)}")


def _raise_for_download_status(response: requests.Response, url: str) -> None:
    if response.status_code < 400:
        return
    response.close()
    status = response.status_code
    message = f"downloading {redact_url(url)} failed: HTTP {status}"
    if status == 404:
        raise CMSNotFound(message, status=status, url=url)
    if status >= 500:
        raise CMSUnavailable(message, status=status, url=url)
    raise CMSError(message, status=status, url=url)


def iter_checked(
    response: requests.Response,
    *,
    url: str,
    max_bytes: int,
    expected_size: int | None = None,
    limit_name: str | None = None,
) -> Iterator[bytes]:
    """Yield the body in chunks, enforcing `max_bytes` and the announced size.

    `expected_size` is what the CMS says the file holds; a `Content-Length` that
    disagrees with it is refused before any byte is read, and a body that ends short
    of (or runs past) the size raises `DownloadIncomplete`. `limit_name` (a setting's
    name) is how refusals name `max_bytes`.
    """
    limit = f"{limit_name or 'the limit'} ({max_bytes:,} bytes)"
    if limit_name is None:
        limit = f"the limit of {max_bytes:,} bytes"
    expected_size = _expected_size(response, url, expected_size)
    if expected_size is not None and expected_size > max_bytes:
        raise FetchRefused(
            f"{redact_url(url)} is {expected_size:,} bytes, over {limit}",
            url=url,
        )
    received = 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                raise FetchRefused(f"{redact_url(url)} sent more than {limit}", url=url)
            if expected_size is not None and received > expected_size:
                raise DownloadIncomplete(
                    f"download of {redact_url(url)} sent more than the {expected_size:,} bytes "
                    "announced",
                    url=url,
                )
            yield chunk
    except requests.RequestException as exc:
        raise DownloadIncomplete(
            f"download of {redact_url(url)} broke off after {received:,} bytes: "
            f"{exc.__class__.__name__}",
            url=url,
        ) from exc
    if expected_size is not None and received != expected_size:
        raise DownloadIncomplete(
            f"download of {redact_url(url)} ended after {received:,} of {expected_size:,} bytes",
            url=url,
        )


def _expected_size(response: requests.Response, url: str, expected: int | None) -> int | None:
    header = response.headers.get("content-length", "")
    announced = int(header) if header.isdigit() else None
    if expected is None or announced is None or announced == expected:
        return expected if expected is not None else announced
    raise DownloadIncomplete(
        f"{redact_url(url)} announces {announced:,} bytes (Content-Length) but the CMS "
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
