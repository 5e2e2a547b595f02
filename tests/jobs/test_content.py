"""jobs.content: locale and draft options, read from Payload and checked before queueing."""

from __future__ import annotations

import pytest
import responses

from app.settings import Settings
from cms_client import PayloadClient, Reading
from jobs.content import ContentOptions, LocaleError, artifact_name, check_locale, reading_of
from jobs.kinds import PdfExportRequest, ZipExportRequest
from jobs.pdf.labels import labels_for

BASE = "http://cms.test"
LOCALES_URL = f"{BASE}/api/export-service/locales"


def settings(**changes: object) -> Settings:
    return Settings(payload_url=BASE, payload_api_key="k", **changes)  # type: ignore[arg-type]


def client() -> PayloadClient:
    return PayloadClient(BASE, authorization="users API-Key k")


def test_reading_params_are_paylods_query():
    assert Reading("de", "en", True).params() == {
        "locale": "de",
        "fallback-locale": "en",
        "draft": "true",
    }
    assert reading_of({"options": {"locale": "all"}}).locale is None  # bundles read each one


@responses.activate(assert_all_requests_are_fired=True)
def test_an_unknown_locale_names_the_plugins_locales():
    responses.get(LOCALES_URL, json={"locales": ["en", "de"], "defaultLocale": "en"})
    with pytest.raises(LocaleError) as caught:
        check_locale(client(), settings(), ContentOptions(locale="fr"), all_allowed=False)
    assert caught.value.field == "options.locale"
    assert "en, de" in caught.value.message


@responses.activate(assert_all_requests_are_fired=True)
def test_without_the_endpoint_the_setting_stands_in():
    responses.get(LOCALES_URL, status=404, json={"errors": [{"message": "Not Found"}]})
    check_locale(client(), settings(payload_locales=("en", "fr")), ContentOptions(locale="fr"),
                 all_allowed=False)  # fmt: skip
    with pytest.raises(LocaleError):
        check_locale(client(), settings(payload_locales=("en",)),
                     ContentOptions(fallbackLocale="ja"), all_allowed=False)  # fmt: skip


def test_all_is_for_bundles_only():
    with pytest.raises(LocaleError, match="ZIP bundles only"):
        check_locale(client(), settings(), ContentOptions(locale="all"), all_allowed=False)


def test_every_kind_accepts_the_options():
    pdf = PdfExportRequest.model_validate(
        {"projectId": 1, "options": {"locale": "de", "draft": True}}
    )
    zip_ = ZipExportRequest.model_validate({"projectId": 1, "options": {"locale": "all"}})
    assert pdf.params()["options"]["locale"] == "de" and zip_.params()["options"]["locale"] == "all"
    with pytest.raises(ValueError):
        PdfExportRequest.model_validate({"projectId": 1, "options": {"locale": "../x"}})


def test_result_names_and_labels_carry_the_locale():
    assert artifact_name("Der Leuchtturmwärter", "brief.pdf", locale="de", draft=True) == (
        "der-leuchtturmwarter-de-draft-brief.pdf"
    )
    assert labels_for("de-CH")["contents"] == "Inhalt"
    assert labels_for("xx")["contents"] == "Contents"
    for language in ("en", "de", "fr", "es", "ja"):
        assert labels_for(language)["page_between"]
