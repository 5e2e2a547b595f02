"""The only code that speaks Payload's REST API."""

from cms_client.client import Doc, DocId, PayloadClient, api_key_authorization
from cms_client.errors import (
    CMSBadResponse,
    CMSDocumentTooDeep,
    CMSError,
    CMSForbidden,
    CMSNotFound,
    CMSUnauthorized,
    CMSUnavailable,
    CMSValidationError,
    DownloadIncomplete,
    FetchRefused,
)
from cms_client.fetch import DownloadResult, FetchPolicy, copy_to, iter_checked

__all__ = [
    "CMSBadResponse",
    "CMSDocumentTooDeep",
    "CMSError",
    "CMSForbidden",
    "CMSNotFound",
    "CMSUnauthorized",
    "CMSUnavailable",
    "CMSValidationError",
    "Doc",
    "DocId",
    "DownloadIncomplete",
    "DownloadResult",
    "FetchPolicy",
    "FetchRefused",
    "PayloadClient",
    "api_key_authorization",
    "copy_to",
    "iter_checked",
]
