"""Payload's Lexical rich text (`{"root": {...}}`) as CommonMark/GFM Markdown.

    lexical_markdown(script["body"], media_url=lambda media: ...)  -> "# Act one\\n\\n…"

Covers what Payload's default Lexical editor produces: paragraphs, headings, quotes,
bullet/numbered/check lists (nested), code blocks, horizontal rules, text formats
(bold, italic, strikethrough, code, underline, sub/superscript, highlight), line breaks,
tabs, links, uploads, relationships, blocks (their field values) and tables (GFM).
Unknown nodes keep their text, so nothing a writer typed is lost. Text is escaped so
that it reads as written, not as Markdown syntax.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

from jobs.lexical.walker import Mode, Node, Walk, children, node_text

MediaUrl = Callable[[Node], "str | None"]

# Lexical's text format bits, innermost first when wrapping.
_CODE, _BOLD, _ITALIC, _STRIKE, _UNDERLINE = 16, 1, 2, 4, 8
_SUBSCRIPT, _SUPERSCRIPT, _HIGHLIGHT = 32, 64, 128
_ESCAPE = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=])(?=\s|$)")
_NUMBERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")


def _no_url(_media: Node) -> str | None:
    return None


def lexical_markdown(document: object, *, media_url: MediaUrl = _no_url) -> str:
    """Markdown for a Lexical document; a plain string is returned as escaped paragraphs.

    `media_url(media)` gives the link for an upload node's (populated) media document,
    e.g. its path inside the bundle; without one the CMS URL is used when present.
    """
    if document is None or document == "":
        return ""
    if isinstance(document, str):
        return escape_text(document).strip() + "\n"
    root = document.get("root") if isinstance(document, Mapping) else None
    if not isinstance(root, Mapping):
        return f"```json\n{_json_text(document, indent=2)}\n```\n"
    walk: _MdWalk = Walk(_MODES, media_url)
    text = _render_blocks(children(root), walk)
    return text.strip("\n") + "\n" if text.strip() else ""


def is_lexical(value: object) -> bool:
    """Whether a field value is a Lexical document."""
    return isinstance(value, Mapping) and isinstance(value.get("root"), Mapping)


def escape_text(text: str) -> str:
    """Text that Markdown shows as written: syntax characters are backslash-escaped."""
    escaped = _ESCAPE.sub(r"\\\1", text)
    return "\n".join(
        _NUMBERED.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", line)) for line in escaped.split("\n")
    )


_MdWalk = Walk[str, MediaUrl]


def _render_blocks(nodes: Iterable[Node], walk: _MdWalk) -> str:
    blocks = [walk.visit(node, "block") for node in nodes]
    return "\n\n".join(b for b in blocks if b.strip())


def _inline_all(nodes: Iterable[Node], walk: _MdWalk) -> str:
    return "".join(walk.visit(node, "inline") for node in nodes)


# -- blocks --------------------------------------------------------------------------


def _other_block(node: Node, walk: _MdWalk) -> str:
    kids = children(node)
    if kids and any(str(k.get("type")) in _BLOCK_TYPES for k in kids):
        return "\n\n".join(walk.visit(kid, "block") for kid in kids)
    return _inline_all([node], walk)


def _paragraph(node: Node, walk: _MdWalk) -> str:
    return _inline_all(children(node), walk)


def _heading(node: Node, walk: _MdWalk) -> str:
    tag = str(node.get("tag", "h2"))
    level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 2
    text = _inline_all(children(node), walk).replace("\n", " ")
    return f"{'#' * level} {text}" if text else ""


def _quote(node: Node, walk: _MdWalk) -> str:
    text = _inline_all(children(node), walk)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def _list(node: Node, walk: _MdWalk) -> str:
    kind = node.get("listType")
    start = node.get("start") if isinstance(node.get("start"), int) else 1
    lines: list[str] = []
    number = int(start or 1)
    for item in children(node):
        marker = f"{number}." if kind == "number" else "-"
        if kind == "check":
            marker += " [x]" if item.get("checked") else " [ ]"
        body, nested = _list_item(item, walk)
        if body or not nested:
            lines.append(f"{marker} {body}".rstrip())
            number += 1
        lines.extend(f"{' ' * _indent(kind)}{line}" if line else "" for line in nested)
    return "\n".join(lines)


def _list_item(item: Node, walk: _MdWalk) -> tuple[str, list[str]]:
    kids = children(item) if item.get("type") == "listitem" else [item]
    inline = [k for k in kids if k.get("type") != "list"]
    # Nested lists go through the walk, whose depth guard bounds them.
    nested = [walk.visit(k, "block") for k in kids if k.get("type") == "list"]
    body = _inline_all(inline, walk).replace("\n", "  \n   ")
    return body, "\n".join(nested).split("\n") if nested else []


def _code(node: Node, walk: _MdWalk) -> str:
    code = _plain(node, linebreak="\n")
    language = node.get("language")
    lang = language if isinstance(language, str) and re.fullmatch(r"[\w+-]+", language) else ""
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{lang}\n{code}\n{fence}"


def _rule(node: Node, walk: _MdWalk) -> str:
    return "---"


def _table(node: Node, walk: _MdWalk) -> str:
    rows = [[_cell(c, walk) for c in children(r)] for r in children(node)]
    rows = [r for r in rows if r]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    padded = [r + [""] * (width - len(r)) for r in rows]
    head, *body = padded
    lines = [_row(head), _row(["---"] * width), *(_row(r) for r in body)]
    return "\n".join(lines)


def _cell(cell: Node, walk: _MdWalk) -> str:
    parts = [_inline_all(children(c) or [c], walk) for c in children(cell)]
    return "<br>".join(p for p in parts if p).replace("\n", "<br>")


def _upload(node: Node, walk: _MdWalk) -> str:
    value = node.get("value")
    media: Node = value if isinstance(value, Mapping) else {"id": value}
    name = media.get("alt") or media.get("filename") or f"media {media.get('id')}"
    label = escape_text(str(name))
    url = walk.data(media) or _str_or_none(media.get("url"))
    target = _link_target(url) if url is not None else None
    if target is None:
        return f"*[{label}]*"
    image = str(media.get("mimeType", "")).startswith("image/")
    return f"{'!' if image else ''}[{label}](<{target}>)"


def _relationship(node: Node, walk: _MdWalk) -> str:
    value = node.get("value")
    doc: Node = value if isinstance(value, Mapping) else {"id": value}
    kind = node.get("relationTo", "document")
    title = doc.get("title") or doc.get("name") or f"{kind} {doc.get('id')}"
    return f"*{escape_text(str(title))}*"


def _fields_block(node: Node, walk: _MdWalk) -> str:
    fields = node.get("fields")
    if not isinstance(fields, Mapping):
        return ""
    lines = []
    for key, value in fields.items():
        if key in ("id", "blockName") or value in (None, "", [], {}):
            continue
        if is_lexical(value):
            # Rich text inside a block continues the same walk (and its depth).
            text = _render_blocks(children(value["root"]), walk).strip()
        elif isinstance(value, str | int | float):
            text = escape_text(str(value))
        else:
            text = f"`{_json_text(value)}`"
        lines.append(f"**{escape_text(str(key))}:** {text}")
    quoted = "\n".join(lines).replace("\n", "  \n")
    return "\n".join(f"> {line}" for line in quoted.split("\n")) if lines else ""


def _flat(node: Node) -> str:
    return escape_text(_plain(node))


# -- inline --------------------------------------------------------------------------


def _other_inline(node: Node, walk: _MdWalk) -> str:
    kind = str(node.get("type", ""))
    if isinstance(node.get("text"), str) and kind not in _BLOCK_TYPES:
        return _text(node, walk)
    if kind in _BLOCK_TYPES:
        return walk.visit(node, "block")
    kids = children(node)
    return _inline_all(kids, walk) if kids else escape_text(_plain(node))


def _text(node: Node, walk: _MdWalk) -> str:
    return _formatted(str(node.get("text", "")), node.get("format"))


def _linebreak(node: Node, walk: _MdWalk) -> str:
    return "  \n"


def _tab(node: Node, walk: _MdWalk) -> str:
    return "\t"


def _link(node: Node, walk: _MdWalk) -> str:
    fields = node.get("fields")
    url = fields.get("url") if isinstance(fields, Mapping) else None
    url = url if isinstance(url, str) else node.get("url")
    text = _inline_all(children(node), walk)
    target = _link_target(url) if isinstance(url, str) and url.strip() else None
    if target is None:
        return text
    return f"[{text or escape_text(str(url))}](<{target}>)"


_BLOCK_TYPES = frozenset({
    "paragraph", "heading", "quote", "list", "code", "horizontalrule", "table",
    "upload", "relationship", "block",
})  # fmt: skip


def _indent(kind: object) -> int:
    return 3 if kind == "number" else 2


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _formatted(text: str, fmt: object) -> str:
    bits = fmt if isinstance(fmt, int) else 0
    if not text:
        return ""
    if bits & _CODE:
        fence, pad = ("``", " ") if "`" in text else ("`", "")
        return f"{fence}{pad}{text}{pad}{fence}"
    core = escape_text(text)
    lead, body, trail = _split_space(core)
    if not body:
        return core
    for bit, (left, right) in _WRAPPERS:
        if bits & bit:
            body = f"{left}{body}{right}"
    return f"{lead}{body}{trail}"


_WRAPPERS = (
    (_SUBSCRIPT, ("<sub>", "</sub>")), (_SUPERSCRIPT, ("<sup>", "</sup>")),
    (_UNDERLINE, ("<u>", "</u>")), (_HIGHLIGHT, ("<mark>", "</mark>")),
    (_STRIKE, ("~~", "~~")), (_ITALIC, ("*", "*")), (_BOLD, ("**", "**")),
)  # fmt: skip


def _split_space(text: str) -> tuple[str, str, str]:
    """Markdown emphasis cannot start or end with a space: keep spaces outside it."""
    body = text.strip(" \t")
    lead = text[: len(text) - len(text.lstrip(" \t"))]
    trail = text[len(text.rstrip(" \t")) :]
    return lead, body, trail


#: Link targets a reader's click must never run: script and inline-document URLs.
UNSAFE_LINK_SCHEMES = frozenset({"javascript", "vbscript", "data", "file"})


def _link_target(url: str) -> str | None:
    """`url` as a Markdown link target, or None when its scheme could run something."""
    cleaned = "".join(ch for ch in url if ord(ch) > 0x20 and ch != "\x7f")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    if scheme and scheme.group(1).lower() in UNSAFE_LINK_SCHEMES:
        return None
    return url.strip().replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def _json_text(value: object, indent: int | None = None) -> str:
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False)
    except RecursionError:
        return '"[a value nested too deeply to show]"'


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _plain(node: Node, linebreak: str = " ") -> str:
    """Every string a node holds, without formatting (a loop: nesting cannot exhaust it)."""
    return node_text(node, linebreak=linebreak, tab="\t")


_MODES: dict[str, Mode[str, MediaUrl]] = {
    "block": Mode(
        {
            "paragraph": _paragraph, "heading": _heading, "quote": _quote, "list": _list,
            "code": _code, "horizontalrule": _rule, "table": _table, "upload": _upload,
            "relationship": _relationship, "block": _fields_block,
        },
        _other_block,
        _flat,
    ),
    "inline": Mode(
        {"text": _text, "linebreak": _linebreak, "tab": _tab, "link": _link, "autolink": _link},
        _other_inline,
        _flat,
    ),
}  # fmt: skip
