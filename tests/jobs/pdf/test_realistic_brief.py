"""A realistic brief, read back with pypdf: cover, screenplay, treatment with a long table,
notes in Greek, Japanese, Hebrew and Arabic, in English and German, published and draft.

Look at it: `scripts/brief-pngs de draft` writes every page as a PNG.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pypdf
import pytest

from jobs.pdf.brief import BriefOptions, render_brief
from tests.jobs.pdf.realistic import brief_data


def pages_of(tmp: Path, locale: str, draft: bool) -> tuple[list[str], pypdf.PdfReader]:
    out = tmp / f"{locale}-{draft}.pdf"
    render_brief(brief_data(locale, draft=draft), out, options=BriefOptions())
    reader = pypdf.PdfReader(io.BytesIO(out.read_bytes()))
    pages = [unicodedata.normalize("NFKC", p.extract_text() or "") for p in reader.pages]
    return pages, reader


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], pypdf.PdfReader]:
    return pages_of(tmp_path_factory.mktemp("en"), "en", False)


@pytest.fixture(scope="module")
def german_draft(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], pypdf.PdfReader]:
    return pages_of(tmp_path_factory.mktemp("de"), "de", True)


def test_the_cover_is_a_cover(english):
    cover = english[0][0]
    assert "The Lighthouse Keeper" in cover and "Ines Alvarez — Writer" in cover
    assert "25 November 2025" in cover
    assert "0.1.0" not in cover and "v0.1.0" not in "\n".join(english[0])


def test_the_version_request_and_locale_are_in_the_metadata(english):
    meta = english[1].metadata
    assert meta is not None
    assert "export-service 0.1.0" in meta["/Keywords"]
    assert "export request 42" in meta["/Keywords"] and "locale en" in meta["/Keywords"]


def test_no_user_id_raw_timestamp_or_doubled_title(english):
    text = "\n".join(english[0])
    assert "Editors" not in text and "2026-03-01T09:00" not in text and "createdAt" not in text
    assert "1 March 2026" in text  # the premiere, formatted
    for title in ("Pilot — Teaser", "Series Treatment", "Production notes"):
        assert text.count(title) == 2, title  # the contents entry and the chapter, once each


def test_the_screenplay_and_scripts_in_four_writing_systems(english):
    text = "\n".join(english[0])
    assert "INT. LAMP ROOM — NIGHT" in text and "(quietly)" in text
    assert "Location 60" in text  # the long table, across pages
    assert "Ἡ Ἑλένη" in text and "撮影は三月に始まります。" in text
    assert "המגדלור" in text and "الحارس" in text


def test_short_chapters_share_pages(english):
    starts = [i for i, page in enumerate(english[0]) if "OF 5" in page]
    assert len(starts) < 5  # five chapters, fewer pages opened for them


def test_a_long_tables_header_row_is_repeated_on_every_page_it_runs_onto(english):
    pages = [page for page in english[0] if "Location 30" in page or "Location 50" in page]
    assert len(pages) == 2  # the 60-row table runs over more than one page …
    for page in pages:  # … and each page it continues on starts with its header row
        body = page.split("page ", 1)[1]
        assert "Scene\nLocation\nPages\nCast" in body, body[:120]


def test_a_german_draft_is_german_and_says_draft_on_every_page(german_draft):
    pages = german_draft[0]
    text = "\n".join(pages)
    assert "Der Leuchtturmwärter" in text and "Mit wem sprichst du?" in text
    for label in ("Inhalt", "Zusammenfassung", "Projektdetails", "Seite 2 von", "1. März 2026"):
        assert label in text, label
    assert all("Entwurf — nicht veröffentlicht" in page for page in pages)
    assert "I hear you. I have always heard you." in text
    assert "locale de" in german_draft[1].metadata["/Keywords"]
