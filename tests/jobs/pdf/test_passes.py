"""#18: a brief's first build is laid out, not drawn (`jobs.pdf.passes`), and the PDF is
byte for byte the one xhtml2pdf makes drawing every build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xhtml2pdf.xhtml2pdf_reportlab import PmlBaseDoc, PmlParagraph

from jobs import preload
from jobs.pdf import passes
from jobs.pdf.brief import BriefData, BriefOptions, render_brief
from tests.fixtures.brief import load_brief_data
from tests.jobs.pdf.realistic import brief_data


def warm_up_sample(folder: Path) -> BriefData:
    """The worker's warm-up brief: every layout a brief has (screenplay, lists, tables,
    contents across pages)."""
    project = preload._sample_project()
    return BriefData(
        project=project,
        scripts=[preload._sample_script(project, kind, n) for n, kind in enumerate(preload.KINDS)],
        media=project.own_media(),
        images={"warm": preload._sample_image(folder)},
        exported_at=load_brief_data().exported_at,
        service_version="test",
    )


BRIEFS: dict[str, Any] = {
    "fixture": lambda folder: load_brief_data(),
    "realistic, German draft": lambda folder: brief_data("de", draft=True),
    "every layout": warm_up_sample,
}


def render(data: BriefData, out: Path, **options: Any) -> bytes:
    render_brief(data, out, options=BriefOptions(**options))
    return out.read_bytes()


@pytest.mark.parametrize("name", list(BRIEFS))
@pytest.mark.parametrize("options", [{}, {"paperSize": "Letter", "orientation": "landscape"}])
def test_the_pdf_is_the_one_every_build_drawn_makes(
    name: str, options: dict[str, Any], tmp_path: Path
) -> None:
    data = BRIEFS[name](tmp_path)
    ours = render(data, tmp_path / "ours.pdf", **options)
    with passes.every_build_drawn():
        theirs = render(data, tmp_path / "theirs.pdf", **options)
    assert ours == theirs


@pytest.fixture
def paragraphs_drawn_per_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many paragraphs each of ReportLab's builds drew, in order."""
    passes.install()
    counts: list[int] = []
    build, draw = PmlBaseDoc.build, PmlParagraph.draw

    def counted_build(doc: Any, *args: Any, **kwargs: Any) -> Any:
        counts.append(0)
        return build(doc, *args, **kwargs)

    def counted_draw(paragraph: Any) -> Any:
        counts[-1] += 1
        return draw(paragraph)

    monkeypatch.setattr(PmlBaseDoc, "build", counted_build)
    monkeypatch.setattr(PmlParagraph, "draw", counted_draw)
    yield counts


def test_only_the_last_of_two_builds_is_drawn(
    paragraphs_drawn_per_build: list[int], tmp_path: Path
) -> None:
    render(load_brief_data(), tmp_path / "brief.pdf")
    first, second = paragraphs_drawn_per_build
    assert first == 0
    assert second > 50  # headers, footers, contents, body


def test_xhtml2pdf_draws_both_builds_without_it(
    paragraphs_drawn_per_build: list[int], tmp_path: Path
) -> None:
    with passes.every_build_drawn():
        render(load_brief_data(), tmp_path / "brief.pdf")
    first, second = paragraphs_drawn_per_build
    assert first > 50 and second > 50
