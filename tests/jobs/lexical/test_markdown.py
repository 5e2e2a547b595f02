"""Lexical rich text as Markdown: structure kept, text escaped, nothing typed is lost."""

from __future__ import annotations

import pytest

from jobs.lexical.markdown import escape_text, lexical_markdown


def text(value: str, fmt: int = 0) -> dict:
    return {"type": "text", "text": value, "format": fmt, "version": 1}


def para(*children: dict) -> dict:
    return {"type": "paragraph", "children": list(children)}


def doc(*children: dict) -> dict:
    return {"root": {"type": "root", "children": list(children)}}


def item(*children: dict, **extra) -> dict:
    return {"type": "listitem", "children": list(children), **extra}


def test_paragraphs_and_headings():
    md = lexical_markdown(
        doc(
            {"type": "heading", "tag": "h1", "children": [text("Act one")]},
            para(text("The storm arrives.")),
            {"type": "heading", "tag": "h3", "children": [text("Scene 2")]},
        )
    )
    assert md == "# Act one\n\nThe storm arrives.\n\n### Scene 2\n"


def test_text_formats():
    md = lexical_markdown(
        doc(
            para(
                text("bold", 1),
                text(" "),
                text("italic", 2),
                text(" "),
                text("gone", 4),
                text(" "),
                text("code", 16),
                text(" "),
                text("under", 8),
                text(" "),
                text("both ", 3),
                text("x"),
            )
        )
    )
    assert md == "**bold** *italic* ~~gone~~ `code` <u>under</u> ***both*** x\n"


def test_lists_nested_numbered_and_checked():
    md = lexical_markdown(
        doc(
            {
                "type": "list",
                "listType": "number",
                "start": 3,
                "children": [
                    item(text("first")),
                    item({"type": "list", "listType": "bullet", "children": [item(text("inner"))]}),
                    item(text("second")),
                ],
            },
            {
                "type": "list",
                "listType": "check",
                "children": [
                    item(text("done"), checked=True),
                    item(text("todo"), checked=False),
                ],
            },
        )
    )
    assert md == "3. first\n   - inner\n4. second\n\n- [x] done\n- [ ] todo\n"


def test_quotes_code_rules_and_line_breaks():
    md = lexical_markdown(
        doc(
            {
                "type": "quote",
                "children": [text("Said once."), {"type": "linebreak"}, text("Twice.")],
            },
            {
                "type": "code",
                "language": "python",
                "children": [text("x = 1"), {"type": "linebreak"}, text("print(x)")],
            },
            {"type": "horizontalrule"},
        )
    )
    assert md == "> Said once.  \n> Twice.\n\n```python\nx = 1\nprint(x)\n```\n\n---\n"


def test_code_containing_fences_gets_a_longer_fence():
    md = lexical_markdown(doc({"type": "code", "children": [text("```")]}))
    assert md == "````\n```\n````\n"


def test_links_and_uploads():
    md = lexical_markdown(
        doc(
            para(
                {
                    "type": "link",
                    "fields": {"url": "https://example.com/a b"},
                    "children": [text("site")],
                }
            ),
            {
                "type": "upload",
                "value": {
                    "id": 5,
                    "filename": "still.png",
                    "mimeType": "image/png",
                    "url": "/api/media/file/still.png",
                },
            },
            {"type": "upload", "value": 6},
        ),
        media_url=lambda media: "../media/still.png" if media.get("id") == 5 else None,
    )
    assert md == (
        "[site](<https://example.com/a%20b>)\n\n![still.png](<../media/still.png>)\n\n*[media 6]*\n"
    )


def test_tables_become_gfm_tables():
    def cell(value: str) -> dict:
        return {"type": "tablecell", "children": [para(text(value))]}

    md = lexical_markdown(
        doc(
            {
                "type": "table",
                "children": [
                    {"type": "tablerow", "children": [cell("Name"), cell("A|B")]},
                    {"type": "tablerow", "children": [cell("x")]},
                ],
            }
        )
    )
    assert md == "| Name | A\\|B |\n| --- | --- |\n| x |  |\n"


def test_markdown_syntax_in_text_is_escaped():
    md = lexical_markdown(doc(para(text("# not a heading *or* [link](x) <b>"))))
    assert md == "\\# not a heading \\*or\\* \\[link\\](x) \\<b\\>\n"
    assert escape_text("1. item") == "1\\. item"


def test_unknown_nodes_and_blocks_keep_their_text():
    md = lexical_markdown(
        doc(
            {"type": "mystery", "children": [text("kept")]},
            {"type": "block", "fields": {"blockType": "callout", "text": "Watch out"}},
        )
    )
    assert "kept" in md and "**text:** Watch out" in md


def test_plain_strings_missing_values_and_non_lexical_json():
    assert lexical_markdown(None) == ""
    assert lexical_markdown("just *text*") == "just \\*text\\*\n"
    assert lexical_markdown({"unexpected": 1}).startswith("```json\n")


def test_hostile_nesting_is_flattened_not_a_recursion_error():
    node: dict = text("deep")
    for _ in range(5000):
        node = {"type": "quote", "children": [node]}
    assert "deep" in lexical_markdown(doc(node))


def test_lists_nested_past_the_stack_are_flattened_not_a_recursion_error():
    node: dict = text("bottom")
    for _ in range(3000):
        node = {"type": "list", "listType": "bullet", "children": [item(node)]}
    assert "bottom" in lexical_markdown(doc(node))


def test_rich_text_nested_in_block_fields_is_bounded_too():
    node: dict = para(text("inner"))
    for _ in range(3000):
        node = {"type": "block", "fields": {"body": {"root": {"type": "root", "children": [node]}}}}
    assert lexical_markdown(doc(node)).strip()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
    ],
)
def test_script_and_data_links_are_dropped_keeping_their_text(url):
    link = {"type": "link", "fields": {"url": url}, "children": [text("click")]}
    md = lexical_markdown(doc(para(link)))
    assert md == "click\n"
    upload = {"type": "upload", "value": {"id": 1, "filename": "a.png", "url": url}}
    assert "](" not in lexical_markdown(doc(upload))
