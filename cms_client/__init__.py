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
from cms_client.projects import (
    CollectionSlugs,
    read_media,
    read_project,
    read_project_and_scripts,
    read_scripts,
)
from cms_client.reading import ALL_LOCALES, PUBLISHED, Locales, Reading, locales_from, read_locales
from cms_client.records import Media, Project, Script
from cms_client.scrub import FOREIGN_UPLOAD_TEXT

__all__ = [
    "ALL_LOCALES",
    "FOREIGN_UPLOAD_TEXT",
    "PUBLISHED",
    "CMSBadResponse",
    "CMSDocumentTooDeep",
    "CMSError",
    "CMSForbidden",
    "CMSNotFound",
    "CMSUnauthorized",
    "CMSUnavailable",
    "CMSValidationError",
    "CollectionSlugs",
    "Doc",
    "DocId",
    "DownloadIncomplete",
    "DownloadResult",
    "FetchPolicy",
    "FetchRefused",
    "Locales",
    "Media",
    "PayloadClient",
    "Project",
    "Reading",
    "Script",
    "api_key_authorization",
    "copy_to",
    "iter_checked",
    "locales_from",
    "read_locales",
    "read_media",
    "read_project",
    "read_project_and_scripts",
    "read_scripts",
]
