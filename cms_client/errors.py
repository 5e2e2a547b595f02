"""The exceptions `cms_client` raises: one tree for everything that crosses to Payload.

    CMSError                      every failure talking to Payload (or a media origin)
    ├── CMSUnavailable            connection refused, DNS, timeout, or a 5xx answer
    ├── CMSUnauthorized           401: no or bad credentials
    ├── CMSForbidden              403: Payload's access control said no (also a bad API key)
    ├── CMSNotFound               404
    ├── CMSValidationError        400: Payload rejected the data (keeps its field errors)
    ├── CMSBadResponse            any other status, or a body that is not the JSON expected
    │   └── CMSDocumentTooDeep    a document nested deeper than MAX_DOCUMENT_DEPTH levels
    └── FetchRefused              a download URL, redirect, address or size the policy refuses
        └── DownloadIncomplete    the bytes received differ from what was announced

`cms_client.fetch` raises its own `FetchError` tree; `PayloadClient.stream` maps it onto
this one `from exc` (`cms_error_of`).

Each carries the HTTP status (if any), the URL without its query string and Payload's own
message, so a job can tell a person exactly what happened.
"""

from __future__ import annotations

from cms_client.fetch import FetchError, FetchFailed, Incomplete
from cms_client.fetch import redact_url as redact_url  # one redaction, shared


class CMSError(Exception):
    """Base of every error raised by cms_client."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = redact_url(url) if url else None

    def __str__(self) -> str:
        return self.message


class CMSUnavailable(CMSError):
    """Payload could not be reached, timed out or answered with a 5xx."""


class CMSUnauthorized(CMSError):
    """Payload answered 401."""


class CMSForbidden(CMSError):
    """Payload answered 403 (it also does so for a missing or unknown API key)."""


class CMSNotFound(CMSError):
    """Payload answered 404."""


class CMSValidationError(CMSError):
    """Payload answered 400 with validation errors."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        field_errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message, status=status, url=url)
        self.field_errors = field_errors or []


class CMSBadResponse(CMSError):
    """Payload answered with an unexpected status or a body that is not the JSON expected."""


class CMSDocumentTooDeep(CMSBadResponse):
    """A document nests deeper than the service can read; `field` is where."""

    def __init__(self, message: str, *, field: str, limit: int, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.field = field
        self.limit = limit


class FetchRefused(CMSError):
    """A download was refused by the fetch policy (origin, scheme, address, size)."""


class DownloadIncomplete(FetchRefused):
    """The bytes received differ from what the CMS or the server announced."""


def cms_error_of(exc: FetchError) -> CMSError:
    """The `CMSError` a guarded download's failure stands for, keeping its sentence."""
    kind: type[CMSError]
    if isinstance(exc, Incomplete):
        kind = DownloadIncomplete
    elif isinstance(exc, FetchFailed):
        kind = _failed_kind(exc.status)
    else:
        kind = FetchRefused
    return kind(exc.message, status=exc.status, url=exc.url)


def _failed_kind(status: int | None) -> type[CMSError]:
    if status is None or status >= 500:
        return CMSUnavailable
    return CMSNotFound if status == 404 else CMSError
