"""jobs.pdf.brief: the project PDF brief, rendered from committed Payload fixtures.

The golden test compares the SHA-256 of the fixture brief with
tests/fixtures/brief/golden.sha256. After an intended change to the template,
fonts, fixtures or renderer, refresh it with

    BRIEF_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/jobs/test_brief.py -k golden

and look at the new PDF (path printed by the test) before committing the hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image
from pydantic import ValidationError

from jobs.pdf.brief import (
    BriefData,
    BriefError,
    BriefInfo,
    BriefOptions,
    ImageStore,
    LinkCallback,
    build_html,
    format_duration,
    human_size,
    render_brief,
    resolve_template_dirs,
)
from tests.fixtures.brief import HERE as FIXTURES
from tests.fixtures.brief import load_brief_data, load_json
from tests.records import project_record

GOLDEN_FILE = FIXTURES / "golden.sha256"


# --------------------------------------------------------------------------- #
# Helpers: render once per module, read text back with pypdf
# --------------------------------------------------------------------------- #


class Rendered:
    def __init__(self, path: Path, info: BriefInfo) -> None:
        self.path = path
        self.info = info
        self.bytes = path.read_bytes()
        self.reader = pypdf.PdfReader(io.BytesIO(self.bytes))
        self.pages = [page.extract_text() or "" for page in self.reader.pages]

    @property
    def text(self) -> str:
        return unicodedata.normalize("NFKC", "\n".join(self.pages))


def render(tmp: Path, data: BriefData | None = None, **options: Any) -> Rendered:
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "brief.pdf"
    info = render_brief(data or load_brief_data(), out, options=BriefOptions(**options))
    return Rendered(out, info)


@pytest.fixture(scope="module")
def brief(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(tmp_path_factory.mktemp("brief"))


def html_for(data: BriefData | None = None, tmp: Path | None = None, **options: Any) -> str:
    opts = BriefOptions(**options)
    store = ImageStore((data or load_brief_data()).images, tmp or Path("/nonexistent"))
    return build_html(data or load_brief_data(), opts, resolve_template_dirs(opts.template), store)


# --------------------------------------------------------------------------- #
# The fixture brief
# --------------------------------------------------------------------------- #


def test_golden_hash(brief: Rendered) -> None:
    digest = hashlib.sha256(brief.bytes).hexdigest()
    if os.environ.get("BRIEF_UPDATE_GOLDEN"):
        GOLDEN_FILE.write_text(digest + "\n")
        keep = Path("/tmp/brief-golden.pdf")
        keep.write_bytes(brief.bytes)
        print(f"golden updated to {digest}; look at {keep}")
    expected = GOLDEN_FILE.read_text().strip()
    assert digest == expected, (
        "the fixture brief changed. If the change is intended, refresh the golden hash: "
        "BRIEF_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/jobs/test_brief.py -k golden"
    )


def test_same_input_gives_identical_bytes(brief: Rendered, tmp_path: Path) -> None:
    again = render(tmp_path / "elsewhere")
    assert again.bytes == brief.bytes


def test_page_count_and_info(brief: Rendered) -> None:
    assert brief.info.pages == len(brief.reader.pages) == 6
    assert brief.info.bytes == len(brief.bytes)
    assert brief.info.bytes < 400_000


def test_metadata_dates_come_from_exported_at(brief: Rendered) -> None:
    meta = brief.reader.metadata
    assert meta is not None
    assert meta["/CreationDate"].startswith("D:20251125140300")
    assert meta["/Title"] == "The Lighthouse Keeper"


def test_cover_page(brief: Rendered) -> None:
    cover = brief.pages[0]
    assert "The Lighthouse Keeper" in cover
    assert "An archivist inherits a lighthouse" in cover
    assert "25 November 2025" in cover
    assert "0.1.0" not in cover  # the service version is in the PDF's metadata, not on a page
    assert "page 1 of" not in cover  # no running footer on the cover


def test_table_of_contents_lists_sections_with_page_numbers(brief: Rendered) -> None:
    toc = re.sub(r"\.{3,}", " ", unicodedata.normalize("NFKC", brief.pages[1]))
    toc = re.sub(r"\s+", " ", toc)
    for title, page in [
        ("Summary", 3),
        ("Project details", 3),
        ("Treatment — The Lighthouse Keeper", 4),
        ("Ο Φύλακας του Φάρου", 5),
        ("灯台守の物語 [water wave]", 5),  # short chapters flow on
        ("Media appendix", 6),
    ]:
        assert re.search(rf"{re.escape(str(page))}\s*{re.escape(title)}|"
                         rf"{re.escape(title)}\s*{page}", toc), (title, toc)  # fmt: skip


def test_running_header_and_page_n_of_m(brief: Rendered) -> None:
    total = len(brief.pages)
    for number, page in enumerate(brief.pages[1:], start=2):
        assert f"page {number} of {total}" in page
        assert "The Lighthouse Keeper" in page


def test_every_section_and_script_appears(brief: Rendered) -> None:
    text = brief.text
    for needle in [
        "Summary",
        "Project details",
        "Media appendix",
        "Elena Marsh inherits a decommissioned lighthouse",
        "Drama / mystery",
        "Treatment locked",
        "A grieving archivist takes over a lighthouse",
        "Η Έλενα ανεβαίνει τη σκάλα.",
        "Томас пересчитывает лодки. Одной не хватает.",
        "灯台の明かりが消えた夜、エレナは日誌の最後のページを開いた。",
        "中文对白",
        "大海从不忘记",
        "Callout block: check the tide tables before the shoot.",
        "[thumbs up sign]",
    ]:
        assert needle in text, needle


def test_right_to_left_text_comes_back(brief: Rendered) -> None:
    # Arabic is drawn with presentation forms; NFKC folds them back to letters.
    assert "مرحبا بالعالم" in brief.text
    assert "שלום עולם" in brief.text


def test_media_appendix_rows(brief: Rendered) -> None:
    appendix = brief.pages[-1]
    needles = ["lighthouse-cover.jpg", "teaser-trailer.mp4", "video/mp4", "187.5 MB",
               "1920 × 1080 px", "1:35", "score-demo.wav", "3:03", "pitch-deck.pdf"]  # fmt: skip
    for needle in needles:
        assert needle in appendix, needle
    assert len(brief.reader.pages[-1].images) == 7  # one thumbnail per image item


def test_images_are_embedded_downscaled(tmp_path: Path) -> None:
    big = tmp_path / "huge.jpg"
    Image.new("RGB", (6000, 4000), (120, 90, 60)).save(big, quality=95)
    data = load_brief_data(images={"101": big})
    out = render(tmp_path / "out", data, sections=["cover"])
    (image,) = out.reader.pages[0].images
    assert max(image.image.size) <= 1600
    assert out.info.bytes < 300_000


# --------------------------------------------------------------------------- #
# Options
# --------------------------------------------------------------------------- #


def test_unknown_options_are_rejected() -> None:
    with pytest.raises(ValidationError):
        BriefOptions.model_validate({"paperSize": "A4", "colour": "red"})


@pytest.mark.parametrize(
    "bad",
    [
        {"paperSize": "A3"},
        {"orientation": "sideways"},
        {"sections": ["cover", "appendix"]},
        {"template": "../etc"},
        {"template": "a/b"},
        {"template": ""},
        {"includeThumbnails": "maybe"},
    ],
)
def test_invalid_option_values_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BriefOptions.model_validate(bad)


def test_sections_paper_and_orientation(tmp_path: Path) -> None:
    out = render(tmp_path, sections=["summary"], paperSize="Letter", orientation="landscape")
    box = out.reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (792, 612)
    assert "Summary" in out.text and "Contents" not in out.text
    assert "Media appendix" not in out.text and "Ο Φύλακας" not in out.text


def test_media_appendix_and_thumbnails_can_be_left_out(tmp_path: Path) -> None:
    assert "<h1>Media appendix</h1>" not in html_for(tmp=tmp_path, includeMediaAppendix=False)
    no_thumbs = html_for(tmp=tmp_path, includeThumbnails=False)
    assert "<h1>Media appendix</h1>" in no_thumbs and "PREVIEW" not in no_thumbs


# --------------------------------------------------------------------------- #
# Templates
# --------------------------------------------------------------------------- #


def test_unknown_template_is_a_brief_error(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match="template 'nope' not found"):
        render_brief(load_brief_data(), tmp_path / "b.pdf",
                     options=BriefOptions(template="nope"), templates_dir=tmp_path)  # fmt: skip


def test_deployment_template_overrides_and_falls_back(tmp_path: Path) -> None:
    custom = tmp_path / "acme"
    custom.mkdir()
    (custom / "brief.html").write_text(
        '<html><head><style>{% include "brief.css" %}</style></head><body>'
        "<p>ACME brief for {{ title }}</p>{{ summary }}</body></html>"
    )
    opts = BriefOptions(template="acme")
    dirs = resolve_template_dirs("acme", tmp_path)
    assert dirs[0] == custom.resolve()
    html = build_html(load_brief_data(), opts, dirs, ImageStore({}, tmp_path))
    assert "ACME brief for The Lighthouse Keeper" in html
    assert "@font-face" in html  # brief.css came from the built-in template
    info = render_brief(load_brief_data(), tmp_path / "acme.pdf", options=opts,
                        templates_dir=tmp_path)  # fmt: skip
    assert info.pages == 1


def test_template_errors_are_brief_errors(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "brief.html").write_text("{{ no_such_name }}")
    with pytest.raises(BriefError, match="template 'broken' failed"):
        render_brief(load_brief_data(), tmp_path / "b.pdf",
                     options=BriefOptions(template="broken"), templates_dir=tmp_path)  # fmt: skip


# --------------------------------------------------------------------------- #
# Safety: escaping, no fetching
# --------------------------------------------------------------------------- #

EVIL_TITLE = "<script>alert(1)</script> {{ 7*7 }}"


def evil_data() -> BriefData:
    project = load_json("project.json")
    project["title"] = EVIL_TITLE
    project["logline"] = "{% for x in range(3) %}loop{% endfor %} <b>not bold</b>"
    project["genre"] = '<img src="http://169.254.169.254/latest/meta-data">'
    project["summary"] = {"root": {"type": "root", "children": [
        {"type": "paragraph", "children": [
            {"type": "text", "text": "{{ 7*7 }} <script>x</script>", "format": 0},
            {"type": "link", "fields": {"url": "javascript:alert(1)"},
             "children": [{"type": "text", "text": "bad link", "format": 0}]},
        ]},
        {"type": "upload", "relationTo": "media",
         "value": {"id": 999, "filename": "remote.jpg", "mimeType": "image/jpeg",
                   "url": "http://127.0.0.1:9/remote.jpg"}},
    ]}}  # fmt: skip
    return load_brief_data(project=project_record(project), scripts=[], media=[])


def test_project_text_is_escaped_not_interpreted(tmp_path: Path) -> None:
    html = html_for(evil_data(), tmp_path)
    assert "<script>" not in html and "<b>not bold</b>" not in html
    assert '<img src="http' not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in html
    assert "49" not in html and "looploop" not in html


def test_nothing_is_fetched_while_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the renderer tried the network: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    out = render(tmp_path, evil_data(), sections=["cover", "summary", "details"])
    assert EVIL_TITLE in out.text
    assert "{% for x in range(3) %}loop{% endfor %}" in out.text
    # Issue #13: media 999 is not the project's, so the upload is a placeholder, not a label
    # taken from a record the project does not own (this was "image not available: remote.jpg").
    assert "[image not part of this project]" in out.text and "remote.jpg" not in out.text
    assert "bad link" in out.text


def test_reportlab_runs_with_its_c_accelerators() -> None:
    """#18: rl-accel (a dependency) replaces ReportLab's pure-Python number formatting and
    escaping, ~20% of a brief's render; without it ReportLab falls back silently."""
    from reportlab.lib import rl_accel

    assert type(rl_accel.fp_str).__name__ == "builtin_function_or_method"
    assert type(rl_accel.escapePDF).__name__ == "builtin_function_or_method"


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://example.org/logo.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "../../../../etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "asset:../../../etc/passwd",
        "asset:/etc/passwd",
        "font:../brief/default/brief.html",
        "image:img999",
        "image:../../etc/passwd",
    ],
)
def test_link_callback_refuses_everything_not_ours(tmp_path: Path, uri: str) -> None:
    callback = LinkCallback(resolve_template_dirs("default"), ImageStore({}, tmp_path))
    assert callback.resolve(uri) is None
    assert callback(uri, None) == str(tmp_path / "refused.invalid")
    assert not Path(callback(uri, None)).exists()


def test_link_callback_resolves_our_own_files(tmp_path: Path) -> None:
    store = ImageStore({"101": FIXTURES / "images" / "101.jpg"}, tmp_path)
    prepared = store.get(101, 300)
    assert prepared is not None
    callback = LinkCallback(resolve_template_dirs("default"), store)
    assert Path(callback(prepared.src, None)).is_file()
    assert Path(callback("font:DejaVuSans.ttf", None)).name == "DejaVuSans.ttf"
    assert Path(callback("asset:brief.css", None)).name == "brief.css"


def test_broken_image_is_a_placeholder_not_a_failure(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    data = load_brief_data(images={"101": broken, "102": broken})
    out = render(tmp_path / "out", data, sections=["cover", "media"])
    assert "still-harbour.jpg" in out.text
    assert not out.reader.pages[0].images


def test_missing_output_directory_is_a_brief_error(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match="does not exist"):
        render_brief(load_brief_data(), tmp_path / "no" / "b.pdf", options=BriefOptions())


# --------------------------------------------------------------------------- #
# Formatting helpers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0 B"), (999, "999 B"), (48_211, "48.2 kB"), (187_544_210, "187.5 MB"),
     (6_100_000_000, "6.1 GB"), (None, ""), (-1, ""), (True, "")],
)  # fmt: skip
def test_human_size(size: object, expected: str) -> None:
    assert human_size(size) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(95.4, "1:35"), (3725, "1:02:05"), (0, "0:00"), (None, "")]
)
def test_format_duration(seconds: object, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_dataclasses_are_frozen() -> None:
    data = load_brief_data()
    assert replace(data, service_version="2").service_version == "2"
    with pytest.raises(AttributeError):
        data.service_version = "x"  # type: ignore[misc]
