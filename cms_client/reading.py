"""Which version of a document to read: its locale, the locale to fall back to, draft or not.

Payload answers in the default locale and with the latest published version unless asked
(`?locale=de&fallback-locale=en&draft=true`); a `Reading` is that question, passed to every
read of an export so the project, its scripts and everything else are the same version.

    reading = Reading(locale="de", fallback_locale="en", draft=True)
    client.get("projects", 17, reading=reading)

The configured locales are not part of Payload's REST API: the plugin serves them at
`/api/export-service/locales` (`read_locales`), and a setting stands in when it is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cms_client.errors import CMSNotFound

if TYPE_CHECKING:
    from cms_client.client import PayloadClient

#: The plugin's endpoint listing the configured locales (below Payload's `/api`).
LOCALES_PATH = "/export-service/locales"
#: The value of `locale` asking for every locale at once (the bundle writes them side by side).
ALL_LOCALES = "all"


@dataclass(frozen=True)
class Reading:
    """Query parameters choosing a document's locale and version."""

    locale: str | None = None
    fallback_locale: str | None = None
    draft: bool = False

    def params(self) -> dict[str, str]:
        """The query parameters Payload takes for this reading."""
        params: dict[str, str] = {}
        if self.locale:
            params["locale"] = self.locale
        if self.fallback_locale:
            params["fallback-locale"] = self.fallback_locale
        if self.draft:
            params["draft"] = "true"
        return params


PUBLISHED = Reading()


@dataclass(frozen=True)
class Locales:
    """The locales a Payload is configured with, the default first."""

    codes: tuple[str, ...]
    default: str | None = None

    def __contains__(self, code: object) -> bool:
        return code in self.codes


def read_locales(client: PayloadClient) -> Locales | None:
    """The configured locales from the plugin's endpoint; None when Payload does not say."""
    try:
        body = client.get_path(LOCALES_PATH)
    except CMSNotFound:
        return None
    codes = body.get("locales")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        return None
    default = body.get("defaultLocale")
    return Locales(tuple(codes), default if isinstance(default, str) else None)


def locales_from(codes: Sequence[str]) -> Locales | None:
    """Locales from a setting (the first is the default); None when the setting is empty."""
    return Locales(tuple(codes), codes[0]) if codes else None
