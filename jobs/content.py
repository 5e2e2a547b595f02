"""Which content an export shows: the locale, the locale to fall back to, draft or published.

Every export kind's options carry these three (`ContentOptions`); the job's params keep them,
`reading_of` turns them into the `cms_client.Reading` every read of the job uses, and
`check_locale` refuses, before anything is queued, a locale Payload is not configured with.

    {"projectId": 1, "options": {"locale": "de", "fallbackLocale": "en", "draft": true}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.settings import LOCALE_PATTERN, Settings
from cms_client import (
    ALL_LOCALES,
    CMSError,
    Locales,
    PayloadClient,
    Reading,
    locales_from,
    read_locales,
)
from jobs.paths import slugify

#: `fallbackLocale: "none"` asks Payload not to fall back at all.
NO_FALLBACK = "none"
FALLBACK_PATTERN = rf"^(?:{NO_FALLBACK}|{LOCALE_PATTERN.strip('^$')})$"


class ContentOptions(BaseModel):
    """The locale and version of the content an export shows (every kind accepts these)."""

    model_config = ConfigDict(extra="forbid")

    locale: str | None = Field(
        None,
        pattern=LOCALE_PATTERN,
        description="Payload locale to export (e.g. `de`); `all` (bundles only) writes every "
        "locale side by side. Default: Payload's default locale.",
    )
    fallbackLocale: str | None = Field(
        None,
        pattern=FALLBACK_PATTERN,
        description="Locale shown where a field has no text in `locale`; `none` for none.",
    )
    draft: StrictBool = Field(
        False,
        description="Export the latest draft where the collection has drafts "
        "(default: the published version).",
    )
    fresh: StrictBool | None = Field(
        None,
        description="true: render again even when an identical earlier result of the "
        "project could be reused (jobs/reuse.py).",
    )


class LocaleError(Exception):
    """A locale Payload does not have; `field` names the option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def content_options(params: Mapping[str, Any]) -> ContentOptions:
    """The content options inside a job's params (each kind keeps them under `options`)."""
    options = params.get("options") or {}
    fields = {k: options[k] for k in ContentOptions.model_fields if k in options}
    return ContentOptions.model_validate(fields)


def reading_of(params: Mapping[str, Any], *, locale: str | None = None) -> Reading:
    """How the job reads Payload; `locale` overrides the option (one locale of `all`)."""
    options = content_options(params)
    chosen = locale or options.locale
    return Reading(
        locale=None if chosen == ALL_LOCALES else chosen,
        fallback_locale=options.fallbackLocale,
        draft=options.draft,
    )


def known_locales(cms: PayloadClient, settings: Settings) -> Locales | None:
    """Payload's locales: the plugin's endpoint, else `PAYLOAD_LOCALES`, else unknown."""
    try:
        served = read_locales(cms)
    except CMSError:
        served = None
    return served or locales_from(settings.payload_locales)


def check_locale(
    cms: PayloadClient, settings: Settings, options: ContentOptions, *, all_allowed: bool
) -> None:
    """Refuse a locale (or fallback) Payload is not configured with, naming those it has."""
    if options.locale is None and options.fallbackLocale in (None, NO_FALLBACK):
        return
    if options.locale == ALL_LOCALES and not all_allowed:
        raise LocaleError(
            "options.locale",
            "locale 'all' is for ZIP bundles only; this export is in one locale: "
            "choose one such as 'en' or 'de'",
        )
    locales = known_locales(cms, settings)
    if locales is None:
        if options.locale == ALL_LOCALES:
            raise LocaleError(
                "options.locale",
                "locale 'all' needs Payload's list of locales, and neither the plugin's "
                "/api/export-service/locales endpoint nor PAYLOAD_LOCALES gives it; "
                "set PAYLOAD_LOCALES or choose one locale",
            )
        return  # nothing to check against: Payload itself decides
    _check_one("options.locale", options.locale, locales)
    if options.fallbackLocale != NO_FALLBACK:
        _check_one("options.fallbackLocale", options.fallbackLocale, locales)


def _check_one(field: str, code: str | None, locales: Locales) -> None:
    if code is None or code == ALL_LOCALES or code in locales:
        return
    raise LocaleError(
        field,
        f"Payload has no locale {code!r}; its locales are {', '.join(locales.codes)}: "
        f"set {field} to one of them",
    )


def locales_for_all(cms: PayloadClient, settings: Settings) -> tuple[str, ...]:
    """Every locale, for `locale: "all"` (checked before queueing, so known here)."""
    locales = known_locales(cms, settings)
    return locales.codes if locales is not None else ()


def artifact_name(title: str, suffix: str, *, locale: str | None, draft: bool) -> str:
    """`the-lighthouse-keeper-de-draft-brief.pdf`: the locale and draft state in the name."""
    parts = [slugify(title)]
    if locale:
        parts.append(slugify(locale))
    if draft:
        parts.append("draft")
    return "-".join(parts) + f"-{suffix}"
