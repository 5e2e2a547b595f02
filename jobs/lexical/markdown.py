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
from typing import Any

Node = Mapping[str, Any]
MediaUrl = Callable[[Node], "str | None"]

#: Deeper nesting than this is flattened to text (a guard against hostile documents).
MAX_DEPTH = 40

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
        return f"```json\n{json.dumps(document, indent=2, ensure_ascii=False)}\n```\n"
    blocks = _Renderer(media_url).blocks(_children(root), 0)
    text = "\n\n".join(b for b in blocks if b.strip())
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


def _children(node: Node) -> list[Node]:
    kids = node.get("children")
    return [k for k in kids if isinstance(k, Mapping)] if isinstance(kids, list) else []


class _Renderer:
    def __init__(self, media_url: MediaUrl) -> None:
        self.media_url = media_url

    # -- blocks ----------------------------------------------------------------------

    def blocks(self, nodes: Iterable[Node], depth: int) -> list[str]:
        return [self.block(node, depth + 1) for node in nodes]

    def block(self, node: Node, depth: int) -> str:
        kind = str(node.get("type", ""))
        if depth > MAX_DEPTH:
            return escape_text(_plain(node))
        handler = {
            "paragraph": self._paragraph, "heading": self._heading, "quote": self._quote,
            "list": self._list, "code": self._code, "horizontalrule": self._rule,
            "table": self._table, "upload": self._upload, "relationship": self._relationship,
            "block": self._fields_block,
        }.get(kind)  # fmt: skip
        if handler is not None:
            return handler(node, depth)
        kids = _children(node)
        if kids and any(str(k.get("type")) in _BLOCK_TYPES for k in kids):
            return "\n\n".join(self.blocks(kids, depth))
        return self.inline_all([node], depth)

    def _paragraph(self, node: Node, depth: int) -> str:
        return self.inline_all(_children(node), depth)

    def _heading(self, node: Node, depth: int) -> str:
        tag = str(node.get("tag", "h2"))
        level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 2
        text = self.inline_all(_children(node), depth).replace("\n", " ")
        return f"{'#' * level} {text}" if text else ""

    def _quote(self, node: Node, depth: int) -> str:
        text = self.inline_all(_children(node), depth)
        return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))

    def _list(self, node: Node, depth: int) -> str:
        kind = node.get("listType")
        start = node.get("start") if isinstance(node.get("start"), int) else 1
        lines: list[str] = []
        number = int(start or 1)
        for item in _children(node):
            marker = f"{number}." if kind == "number" else "-"
            if kind == "check":
                marker += " [x]" if item.get("checked") else " [ ]"
            body, nested = self._list_item(item, depth)
            if body or not nested:
                lines.append(f"{marker} {body}".rstrip())
                number += 1
            lines.extend(f"{' ' * _indent(kind)}{line}" if line else "" for line in nested)
        return "\n".join(lines)

    def _list_item(self, item: Node, depth: int) -> tuple[str, list[str]]:
        kids = _children(item) if item.get("type") == "listitem" else [item]
        inline = [k for k in kids if k.get("type") != "list"]
        nested = [self._list(k, depth + 1) for k in kids if k.get("type") == "list"]
        body = self.inline_all(inline, depth).replace("\n", "  \n   ")
        return body, "\n".join(nested).split("\n") if nested else []

    def _code(self, node: Node, depth: int) -> str:
        code = _plain(node, linebreak="\n")
        language = node.get("language")
        lang = language if isinstance(language, str) and re.fullmatch(r"[\w+-]+", language) else ""
        fence = "```"
        while fence in code:
            fence += "`"
        return f"{fence}{lang}\n{code}\n{fence}"

    def _rule(self, node: Node, depth: int) -> str:
        return "---"

    def _table(self, node: Node, depth: int) -> str:
        rows = [[self._cell(c, depth) for c in _children(r)] for r in _children(node)]
        rows = [r for r in rows if r]
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        padded = [r + [""] * (width - len(r)) for r in rows]
        head, *body = padded
        lines = [_row(head), _row(["---"] * width), *(_row(r) for r in body)]
        return "\n".join(lines)

    def _cell(self, cell: Node, depth: int) -> str:
        parts = [self.inline_all(_children(c) or [c], depth) for c in _children(cell)]
        return "<br>".join(p for p in parts if p).replace("\n", "<br>")

    def _upload(self, node: Node, depth: int) -> str:
        value = node.get("value")
        media: Node = value if isinstance(value, Mapping) else {"id": value}
        name = media.get("alt") or media.get("filename") or f"media {media.get('id')}"
        label = escape_text(str(name))
        url = self.media_url(media) or _str_or_none(media.get("url"))
        if url is None:
            return f"*[{label}]*"
        image = str(media.get("mimeType", "")).startswith("image/")
        return f"{'!' if image else ''}[{label}](<{_link_target(url)}>)"

    def _relationship(self, node: Node, depth: int) -> str:
        value = node.get("value")
        doc: Node = value if isinstance(value, Mapping) else {"id": value}
        kind = node.get("relationTo", "document")
        title = doc.get("title") or doc.get("name") or f"{kind} {doc.get('id')}"
        return f"*{escape_text(str(title))}*"

    def _fields_block(self, node: Node, depth: int) -> str:
        fields = node.get("fields")
        if not isinstance(fields, Mapping):
            return ""
        lines = []
        for key, value in fields.items():
            if key in ("id", "blockName") or value in (None, "", [], {}):
                continue
            if is_lexical(value):
                text = lexical_markdown(value, media_url=self.media_url).strip()
            elif isinstance(value, str | int | float):
                text = escape_text(str(value))
            else:
                text = f"`{json.dumps(value, ensure_ascii=False)}`"
            lines.append(f"**{escape_text(str(key))}:** {text}")
        quoted = "\n".join(lines).replace("\n", "  \n")
        return "\n".join(f"> {line}" for line in quoted.split("\n")) if lines else ""

    # -- inline ----------------------------------------------------------------------

    def inline_all(self, nodes: Iterable[Node], depth: int) -> str:
        return "".join(self.inline(node, depth + 1) for node in nodes)

    def inline(self, node: Node, depth: int) -> str:
        kind = str(node.get("type", ""))
        if kind == "text" or (isinstance(node.get("text"), str) and kind not in _BLOCK_TYPES):
            return _formatted(str(node.get("text", "")), node.get("format"))
        if kind == "linebreak":
            return "  \n"
        if kind == "tab":
            return "\t"
        if kind in ("link", "autolink"):
            return self._link(node, depth)
        if depth > MAX_DEPTH:
            return escape_text(_plain(node))
        if kind in _BLOCK_TYPES:
            return self.block(node, depth)
        kids = _children(node)
        return self.inline_all(kids, depth) if kids else escape_text(_plain(node))

    def _link(self, node: Node, depth: int) -> str:
        fields = node.get("fields")
        url = fields.get("url") if isinstance(fields, Mapping) else None
        url = url if isinstance(url, str) else node.get("url")
        text = self.inline_all(_children(node), depth)
        if not isinstance(url, str) or not url.strip():
            return text
        return f"[{text or escape_text(url)}](<{_link_target(url)}>)"


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


def _link_target(url: str) -> str:
    return url.strip().replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _plain(node: Node, linebreak: str = " ") -> str:
    """Every string a node holds, without formatting (a loop: nesting cannot exhaust it)."""
    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        kind = current.get("type")
        if kind == "linebreak":
            out.append(linebreak)
        elif kind == "tab":
            out.append("\t")
        elif isinstance(current.get("text"), str):
            out.append(str(current["text"]))
        else:
            stack.extend(reversed(_children(current)))
    return "".join(out)
