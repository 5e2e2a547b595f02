"""jobs.lexical.html: Lexical JSON and plain text to safe HTML."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.lexical.html import (
    CJK_CLASS,
    RTL_CLASS,
    ImageRef,
    _split_runs,
    font_runs,
    lexical_html,
    plain_text,
    safe_href,
    text_direction,
    text_html,
)


def text(value: str, fmt: int = 0) -> dict[str, Any]:
    return {"type": "text", "text": value, "format": fmt, "detail": 0, "mode": "normal",
            "style": "", "version": 1}  # fmt: skip


def node(kind: str, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": kind, "children": list(children), "version": 1, **extra}


def doc(*children: dict[str, Any]) -> dict[str, Any]:
    return {"root": node("root", *children)}


def html(*children: dict[str, Any], **kwargs: Any) -> str:
    return str(lexical_html(doc(*children), **kwargs))


# --------------------------------------------------------------------------- #
# Node types
# --------------------------------------------------------------------------- #


def test_paragraph_and_alignment() -> None:
    out = html(node("paragraph", text("Hello"), format="center", direction="ltr"))
    assert out == '<p class="rt-align-center">Hello</p>'


def test_empty_paragraph_keeps_its_line() -> None:
    assert "rt-empty" in html(node("paragraph"))


@pytest.mark.parametrize(("tag", "level"), [("h1", 1), ("h2", 2), ("h6", 6), ("bogus", 2)])
def test_heading_is_a_styled_paragraph_not_a_toc_entry(tag: str, level: int) -> None:
    out = html(node("heading", text("Act one"), tag=tag))
    assert out.startswith(f'<p class="rt-h rt-h{level}"')
    assert "<h" not in out


@pytest.mark.parametrize(
    ("bits", "tags"),
    [
        (1, ["strong"]),
        (2, ["em"]),
        (4, ["s"]),
        (8, ["u"]),
        (16, ["code"]),
        (32, ["sub"]),
        (64, ["sup"]),
        (1 | 2 | 8, ["strong", "em", "u"]),
    ],
)
def test_text_format_bitmask(bits: int, tags: list[str]) -> None:
    out = html(node("paragraph", text("x", bits)))
    for tag in tags:
        assert f"<{tag}>" in out and f"</{tag}>" in out
    assert "x" in out


def test_highlight_bit() -> None:
    assert "rt-mark" in html(node("paragraph", text("x", 128)))


def test_linebreak_and_tab() -> None:
    out = html(node("paragraph", text("a"), {"type": "linebreak"}, {"type": "tab"}, text("b")))
    assert "a<br/>&nbsp;" in out and out.endswith("b</p>")


def test_ordered_unordered_and_nested_lists() -> None:
    inner = node("list", node("listitem", text("child")), listType="bullet")
    outer = node(
        "list",
        node("listitem", text("first")),
        node("listitem", inner),
        listType="number",
        start=3,
    )
    out = html(outer)
    assert out.startswith('<ol start="3"><li>first</li>')
    assert '<li class="rt-nested"><ul><li>child</li></ul></li>' in out


def test_check_list() -> None:
    out = html(
        node(
            "list",
            node("listitem", text("done"), checked=True),
            node("listitem", text("todo"), checked=False),
            listType="check",
        )
    )
    assert "[x] done" in out and "[ ] todo" in out


def test_quote() -> None:
    assert html(node("quote", text("Said."))).startswith("<blockquote")


def test_horizontal_rule() -> None:
    assert html({"type": "horizontalrule", "version": 1}).startswith("<hr ")


def test_code_block_keeps_lines() -> None:
    code = node("code", text("a < b"), {"type": "linebreak"}, node("code-highlight", text("c")))
    out = html(code)
    assert out.startswith('<div class="rt-code">') and "a &lt; b<br/>c" in out


def test_table_with_header_and_colspan() -> None:
    cell = lambda v, h=0, span=1: node(  # noqa: E731
        "tablecell", node("paragraph", text(v)), headerState=h, colSpan=span
    )
    table = node("table", node("tablerow", cell("H", 1)), node("tablerow", cell("v", 0, 2)))
    out = html(table)
    assert (
        '<table class="rt-table" repeat="1"><tr><th>H</th></tr><tr><td colspan="2">v</td></tr>'
        in out
    )  # a header row repeats on every page the table runs onto
    plain = node("table", node("tablerow", cell("v")), node("tablerow", cell("w")))
    assert '<table class="rt-table"><tr><td>v</td></tr>' in html(plain)


# --------------------------------------------------------------------------- #
# Links
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "url", ["https://example.org/a?b=1&c=2", "http://example.org", "mailto:a@example.org"]
)
def test_safe_links_are_kept(url: str) -> None:
    out = html(node("paragraph", node("link", text("go"), fields={"url": url})))
    assert '<a href="' in out and "go</a>" in out


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "/relative/path",
        "https:no-host",
        None,
        42,
    ],
)
def test_unsafe_links_become_text(url: object) -> None:
    out = html(node("paragraph", node("link", text("click"), fields={"url": url})))
    assert "<a" not in out and "click" in out


def test_autolink_and_lexical_core_link_shape() -> None:
    out = html(
        node(
            "paragraph",
            node("autolink", text("x"), fields={"url": "https://a.example"}),
            node("link", text("y"), url="https://b.example"),
        )
    )
    assert 'href="https://a.example"' in out and 'href="https://b.example"' in out


def test_link_href_is_escaped() -> None:
    out = html(node("paragraph", node("link", text("q"), fields={"url": 'https://e.x/"><x'})))
    assert '"><x' not in out and "&#34;&gt;&lt;x" in out


def test_safe_href() -> None:
    assert safe_href("https://e.x") == "https://e.x"
    assert safe_href("vbscript:x") is None


# --------------------------------------------------------------------------- #
# Uploads: only from the job's images, never from a URL
# --------------------------------------------------------------------------- #


def upload(value: object) -> dict[str, Any]:
    return {"type": "upload", "relationTo": "media", "value": value, "version": 3}


def test_upload_uses_only_the_image_source() -> None:
    seen: list[str] = []

    def source(media_id: str) -> ImageRef | None:
        seen.append(media_id)
        return ImageRef("image:img1", "40.0mm", "25.0mm") if media_id == "7" else None

    media = {"id": 7, "filename": "a.jpg", "mimeType": "image/jpeg", "alt": "Harbour",
             "url": "http://169.254.169.254/latest"}  # fmt: skip
    out = html(upload(media), image_src=source)
    assert '<img src="image:img1" width="40.0mm" height="25.0mm" alt="Harbour"/>' in out
    assert "169.254" not in out
    assert seen == ["7"]


def test_upload_without_local_copy_is_a_visible_placeholder() -> None:
    out = html(upload({"id": "abc", "filename": "big.tif", "url": "https://cdn.example/big.tif"}))
    assert "image not available" in out and "big.tif" in out and "<img" not in out


def test_upload_by_id_only_and_non_image_file() -> None:
    assert "media 5" in html(upload(5))
    out = html(upload({"id": 9, "filename": "deck.pdf", "mimeType": "application/pdf"}))
    assert "[file: deck.pdf]" in out


# --------------------------------------------------------------------------- #
# Unknown nodes: their text, never dropped, never an error
# --------------------------------------------------------------------------- #


def test_unknown_block_with_children_keeps_their_text() -> None:
    out = html(node("collapsible", node("paragraph", text("inside"))))
    assert 'class="rt-unknown"' in out and ">inside</p>" in out


def test_unknown_inline_node_keeps_text() -> None:
    out = html(node("paragraph", {"type": "mention", "text": "@elena"}))
    assert "@elena" in out and "<span" in out


def test_payload_block_renders_its_fields() -> None:
    block = {"type": "block", "fields": {"id": "x", "blockType": "callout", "text": "Mind it"}}
    assert "Mind it" in html(block)


def test_unknown_node_with_nothing_names_its_type() -> None:
    assert "[widget]" in html({"type": "widget"})


def test_malformed_documents_do_not_raise() -> None:
    assert lexical_html(None) == ""
    assert "rt-unknown" in str(lexical_html({"not": "lexical"}))
    assert lexical_html({"root": {"type": "root", "children": "nope"}}) == ""
    assert "x" in str(lexical_html(doc(node("paragraph", text("x"), "junk"))))  # type: ignore[arg-type]


def test_deep_nesting_is_bounded() -> None:
    deep: dict[str, Any] = text("bottom")
    for _ in range(500):
        deep = node("quote", deep)
    assert "bottom" in html(deep)


def test_plain_string_field_becomes_paragraphs() -> None:
    out = str(lexical_html("one\ntwo\n\n<b>three</b>"))
    assert out == '<p dir="ltr">one<br/>two</p><p dir="ltr">&lt;b&gt;three&lt;/b&gt;</p>'


# --------------------------------------------------------------------------- #
# Escaping
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "evil",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "{{ 7*7 }}",
        "{% raw %}",
        "&amp; &lt;",
    ],
)
def test_text_is_escaped_never_interpreted(evil: str) -> None:
    out = html(node("paragraph", text(evil)))
    assert "<script" not in out and "<img" not in out
    assert str(text_html(evil)) in out


def test_text_html_escapes() -> None:
    assert str(text_html("<b>&</b>")) == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert text_html(None) == ""


def test_control_characters_are_removed() -> None:
    assert str(text_html("a\x00b\x07c\nd")) == "abc\nd"


# --------------------------------------------------------------------------- #
# Fonts per run, emoji fallback, direction
# --------------------------------------------------------------------------- #


def test_cjk_runs_get_the_cjk_font() -> None:
    out = str(text_html("Title: 東京 タワー!"))
    assert out == f'Title: <span class="{CJK_CLASS}">東京 タワー!</span>'


def test_latin_greek_cyrillic_use_the_base_font() -> None:
    sample = "Café Ελληνικά Русский"
    assert str(text_html(sample)) == sample


def test_arabic_and_hebrew_runs_get_the_rtl_font() -> None:
    out = str(text_html("say مرحبا بالعالم and שלום"))
    assert f'<span class="{RTL_CLASS}">مرحبا بالعالم </span>' in out
    assert f'<span class="{RTL_CLASS}">שלום</span>' in out


@pytest.mark.parametrize(
    ("emoji", "marker"),
    [
        ("🎬", "[clapper board]"),
        ("✨", "[sparkles]"),
        ("👩‍💻", "[woman][personal computer]"),
        ("👍🏽", "[thumbs up sign]"),
        ("🇯🇵", "[flag JP]"),
        ("❤️", "❤"),  # DejaVu draws this one; the variation selector goes
    ],
)
def test_emoji_without_a_glyph_become_named_markers(emoji: str, marker: str) -> None:
    assert plain_text(f"a{emoji}b") == f"a{marker}b"


def test_unassigned_code_points_are_named_not_boxed() -> None:
    assert plain_text("\U000e0001x") == "x"  # a tag character: invisible, dropped
    assert plain_text("\U0010fffd") == "[U+10FFFD]"


def test_font_runs_merge_neutrals_into_the_run() -> None:
    runs = font_runs("中文，测试 123")
    assert [(r.cls, r.text) for r in runs] == [(CJK_CLASS, "中文，测试 123")]


@given(
    st.text(
        alphabet=st.sampled_from(
            [*"Aa zé,.!\n\t\rΦάМя中文，שم", "\u200d", "\U0001f1e9", "\U0001f600"]
        ),
        max_size=40,
    )
)
@settings(max_examples=300, deadline=None)
def test_the_one_run_shortcut_splits_like_the_full_walk(sample: str) -> None:
    """#18: text the base font draws alone skips the per-character walk, same runs."""
    assert font_runs(sample) == _split_runs(sample)


@pytest.mark.parametrize(
    ("sample", "expected"), [("שלום world", "rtl"), ("123 مرحبا", "rtl"), ("Hi שלום", "ltr")]
)
def test_text_direction(sample: str, expected: str) -> None:
    assert text_direction(sample) == expected


def test_lists_nested_past_the_stack_are_flattened_not_a_recursion_error() -> None:
    deep: dict[str, Any] = text("bottom")
    for _ in range(3000):
        deep = node("list", node("listitem", deep), listType="bullet")
    out = html(deep)
    assert "bottom" in out and out.count("<ul>") <= 40


def test_rich_text_nested_in_block_fields_is_bounded_too() -> None:
    deep: dict[str, Any] = node("paragraph", text("inner"))
    for _ in range(3000):
        deep = {"type": "block", "fields": {"body": {"root": node("root", deep)}}}
    assert html(deep)
