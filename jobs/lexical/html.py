"""Payload rich text (Lexical JSON) and plain text to safe HTML for the PDF brief.

Two entry points, both returning :class:`markupsafe.Markup` that a Jinja template
with autoescape on prints as it is:

* :func:`text_html` escapes a plain string and wraps each run of characters in the
  font that has them (CJK, right-to-left), replacing what no shipped font draws
  (emoji, mostly) with a visible ``[name]`` marker rather than an empty box.
* :func:`lexical_html` turns a Lexical document into HTML built only from tags the
  renderer writes itself: content never reaches the output unescaped, links keep
  only http(s)/mailto targets, and images come only from the files the job
  downloaded (``image_src``), never from a URL in the content.

Unknown node types are rendered as their text (or a marker naming the type when
they have none), so new Payload features degrade visibly instead of vanishing.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from jobs.lexical.walker import MAX_DEPTH, Handler, Mode, Node, Walk, children, node_text

FONTS_DIR = Path(__file__).resolve().parents[2] / "templates" / "fonts"
BASE_FONT_FILE = "DejaVuSans.ttf"
CJK_FONT_FILE = "wqy-microhei.ttc"

#: CSS classes the templates give a font family (see templates/brief/default/brief.css).
CJK_CLASS = "f-cjk"
RTL_CLASS = "f-rtl"

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# Lexical TextNode format bits, outermost tag first.
_FORMAT_TAGS: tuple[tuple[int, str], ...] = (
    (16, "code"),
    (1, "strong"),
    (2, "em"),
    (8, "u"),
    (4, "s"),
    (32, "sub"),
    (64, "sup"),
)
_HIGHLIGHT = 128
_ALIGNMENTS = frozenset({"left", "center", "right", "justify"})
# Joiners and selectors that only shape an emoji sequence; the sequence's
# visible characters are each named on their own.
_INVISIBLE = frozenset({0x200D, 0xFE0E, 0xFE0F, 0x20E3})
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0000, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)


# --------------------------------------------------------------------------- #
# Plain text: escaping, font runs, emoji fallback
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=1)
def _coverage() -> tuple[frozenset[int], frozenset[int]]:
    """Code points the base and CJK fonts draw (read once per process, ~0.1 s)."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    base = TTFontFile(str(FONTS_DIR / BASE_FONT_FILE))
    cjk = TTFontFile(str(FONTS_DIR / CJK_FONT_FILE), subfontIndex=0)
    return frozenset(base.charToGlyph), frozenset(cjk.charToGlyph)


def _is_rtl(cp: int) -> bool:
    return 0x0590 <= cp <= 0x08FF or 0xFB1D <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF


def _is_neutral(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "ZPNS" or ch in "\n\t"


def char_name(ch: str) -> str:
    """The fallback text for a character no font has: its Unicode name in brackets."""
    name = unicodedata.name(ch, "")
    return f"[{name.lower()}]" if name else f"[U+{ord(ch):04X}]"


def _regional_pair(a: int, b: int) -> str:
    letters = chr(a - 0x1F1E6 + ord("A")) + chr(b - 0x1F1E6 + ord("A"))
    return f"[flag {letters}]"


def _font_class(cp: int) -> str | bool | None:
    """The run class for a code point: None (base font), a CSS class, or False (no font)."""
    base, cjk = _coverage()
    if _is_rtl(cp) and cp in base:
        return RTL_CLASS
    if cp in base:
        return None
    if cp in cjk:
        return CJK_CLASS
    return False


@dataclass
class _Run:
    cls: str | None
    text: str


def font_runs(text: str) -> list[_Run]:
    """Split ``text`` into runs sharing one font; unknown glyphs become ``[name]`` runs.

    Neutral characters (spaces, punctuation, digits) stay in the run they follow
    when its font draws them, so a CJK or Arabic phrase is one span, not one per word.
    """
    if _plain_chars().issuperset(text):
        return [_Run(None, text)] if text else []
    return _split_runs(text)


@lru_cache(maxsize=1)
def _plain_chars() -> frozenset[str]:
    """What the base font draws left to right with nothing to decide: a text of only these
    is one base-font run (most text is), without `_split_runs`'s loop over each character."""
    base, _ = _coverage()
    special = (_INVISIBLE, _SKIN_TONES, _TAGS, _REGIONAL)
    plain = (chr(cp) for cp in base if not _is_rtl(cp) and not any(cp in s for s in special))
    return frozenset(plain) | frozenset("\n\t\r")


def _split_runs(text: str) -> list[_Run]:
    base, cjk = _coverage()
    runs: list[_Run] = []
    cps = [ord(ch) for ch in text]
    i = 0
    while i < len(cps):
        cp = cps[i]
        i += 1
        if cp in _INVISIBLE or cp in _SKIN_TONES or cp in _TAGS:
            continue
        if cp in _REGIONAL:
            if i < len(cps) and cps[i] in _REGIONAL:
                _append(runs, None, _regional_pair(cp, cps[i]))
                i += 1
            else:
                _append(runs, None, char_name(chr(cp)))
            continue
        ch = chr(cp)
        if ch in "\n\t\r":
            _append(runs, runs[-1].cls if runs else None, ch)
            continue
        if runs and _is_neutral(ch) and _run_covers(runs[-1].cls, cp, base, cjk):
            runs[-1].text += ch
            continue
        cls = _font_class(cp)
        if cls is False:
            _append(runs, None, char_name(ch))
        else:
            _append(runs, cls if isinstance(cls, str) else None, ch)
    return runs


def _run_covers(cls: str | None, cp: int, base: frozenset[int], cjk: frozenset[int]) -> bool:
    return cp in (cjk if cls == CJK_CLASS else base)


def _append(runs: list[_Run], cls: str | None, text: str) -> None:
    if runs and runs[-1].cls == cls:
        runs[-1].text += text
    else:
        runs.append(_Run(cls, text))


def _clean_controls(text: str) -> str:
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Cn")
    )


def text_html(value: object) -> Markup:
    """Escape ``value`` as text and wrap CJK/RTL runs in spans naming their font.

    Markup passes through untouched (it was built by this module or a template).
    """
    if isinstance(value, Markup):
        return value
    text = _clean_controls("" if value is None else str(value))
    parts: list[str] = []
    for run in font_runs(text):
        escaped = str(escape(run.text))
        if run.cls is None:
            parts.append(escaped)
        else:
            parts.append(f'<span class="{run.cls}">{escaped}</span>')
    return Markup("".join(parts))


def plain_text(value: object) -> str:
    """``value`` as text with emoji replaced by markers: for attributes and metadata."""
    text = _clean_controls("" if value is None else str(value))
    return "".join(run.text for run in font_runs(text))


def text_direction(text: str) -> str:
    """``"rtl"`` when the first strong character is right-to-left, else ``"ltr"``."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


# --------------------------------------------------------------------------- #
# Links
# --------------------------------------------------------------------------- #


def safe_href(url: object) -> str | None:
    """``url`` if it is an absolute http(s) or mailto link, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(ch) < 0x20 or ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_LINK_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return url


# --------------------------------------------------------------------------- #
# Lexical
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ImageRef:
    """An image the renderer may embed: its ``src`` and display size (CSS lengths)."""

    src: str
    width: str
    height: str


ImageSource = Callable[[str], "ImageRef | None"]


def _no_images(_key: str) -> ImageRef | None:
    return None


_Walk = Walk[Markup, ImageSource]


def lexical_html(document: object, *, image_src: ImageSource = _no_images) -> Markup:
    """Render a Lexical document (``{"root": {...}}``) as safe HTML.

    ``image_src(media_id)`` returns the :class:`ImageRef` of an uploaded image the
    job has a local copy of, or None to show a placeholder instead.
    A string (a field that was never rich text) is rendered as escaped paragraphs.
    """
    if document is None or document == "":
        return Markup("")
    if isinstance(document, str):
        return _plain_paragraphs(document)
    root = document.get("root") if isinstance(document, Mapping) else None
    if not isinstance(root, Mapping):
        return Markup(f'<p class="rt-unknown">{text_html(_json_text(document))}</p>')
    walk: _Walk = Walk(_MODES, image_src)
    return _blocks(children(root), walk)


def _plain_paragraphs(text: str) -> Markup:
    paras = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return Markup("").join(
        Markup('<p dir="{}">{}</p>').format(
            text_direction(p), Markup("<br/>").join(text_html(line) for line in p.split("\n"))
        )
        for p in paras
    )


def _blocks(nodes: Iterable[Node], walk: _Walk) -> Markup:
    return Markup("").join(walk.visit(node, "block") for node in nodes)


def _inline_all(nodes: Iterable[Node], walk: _Walk) -> Markup:
    return Markup("").join(walk.visit(node, "inline") for node in nodes)


def _other_block(node: Node, walk: _Walk) -> Markup:
    if node.get("type") in _INLINE_HANDLERS:
        return Markup("<p>{}</p>").format(walk.visit(node, "inline"))
    return _unknown(node, walk, block=True)


def _other_inline(node: Node, walk: _Walk) -> Markup:
    if node.get("type") in _BLOCK_HANDLERS:
        # A block inside a paragraph (lists in table cells, say): keep its text.
        return text_html(_node_text(node))
    return _unknown(node, walk, block=False)


def _flat_block(node: Node) -> Markup:
    return Markup("<p>{}</p>").format(text_html(_node_text(node)))


def _flat_inline(node: Node) -> Markup:
    return text_html(_node_text(node))


def _block_attrs(node: Mapping[str, Any], extra_class: str = "") -> Markup:
    attrs = []
    classes = [extra_class] if extra_class else []
    align = node.get("format")
    if isinstance(align, str) and align in _ALIGNMENTS:
        classes.append(f"rt-align-{align}")
    if classes:
        attrs.append(Markup(' class="{}"').format(" ".join(classes)))
    direction = node.get("direction")
    if direction is None:
        # Lexical leaves it unset on text it could not classify: guess from the text.
        direction = text_direction(_node_text(node)) if children(node) else "ltr"
    if direction == "rtl":
        attrs.append(Markup(' dir="rtl"'))
    return Markup("").join(attrs)


def _paragraph(node: Node, walk: _Walk) -> Markup:
    body = _inline_all(children(node), walk)
    if not body:
        return Markup('<p class="rt-empty">&nbsp;</p>')
    return Markup("<p{}>{}</p>").format(_block_attrs(node), body)


def _heading(node: Node, walk: _Walk) -> Markup:
    tag = str(node.get("tag", "h2"))
    level = int(tag[1]) if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456" else 2
    # Paragraphs, not <hN>: a heading inside rich text must not become an entry
    # of the brief's table of contents or bookmarks.
    return Markup("<p{}>{}</p>").format(
        _block_attrs(node, f"rt-h rt-h{level}"), _inline_all(children(node), walk)
    )


def _quote(node: Node, walk: _Walk) -> Markup:
    return Markup("<blockquote{}>{}</blockquote>").format(
        _block_attrs(node), _inline_all(children(node), walk)
    )


def _list(node: Node, walk: _Walk) -> Markup:
    kind = node.get("listType")
    tag = "ol" if kind == "number" else "ul"
    start = node.get("start")
    start_attr = Markup("")
    if tag == "ol" and isinstance(start, int) and start != 1:
        start_attr = Markup(' start="{}"').format(start)
    cls = Markup(' class="rt-check"') if kind == "check" else Markup("")
    items = Markup("").join(_list_item(child, walk, kind == "check") for child in children(node))
    return Markup("<{}{}{}>{}</{}>").format(Markup(tag), cls, start_attr, items, Markup(tag))


def _list_item(node: Node, walk: _Walk, check: bool) -> Markup:
    if node.get("type") != "listitem":
        return Markup("<li>{}</li>").format(walk.visit(node, "inline"))
    kids = children(node)
    nested = [k for k in kids if k.get("type") == "list"]
    inline = [k for k in kids if k.get("type") != "list"]
    box = Markup("")
    if check:
        box = Markup("[x] ") if node.get("checked") else Markup("[ ] ")
    body = box + _inline_all(inline, walk)
    sub = _blocks(nested, walk)  # through the walk: its depth guard bounds nested lists
    if not inline and nested:
        # Lexical nests a list in an item of its own: keep it inside an li.
        return Markup('<li class="rt-nested">{}</li>').format(sub)
    return Markup("<li>{}{}</li>").format(body, sub)


def _code_block(node: Node, walk: _Walk) -> Markup:
    lines = _node_text(node, linebreak="\n").split("\n")
    return Markup('<div class="rt-code">{}</div>').format(
        Markup("<br/>").join(text_html(line) for line in lines)
    )


def _hr(_node: Node, _walk: _Walk) -> Markup:
    return Markup('<hr size="0.6" color="#c2ccd3"/>')


def _upload(node: Node, walk: _Walk) -> Markup:
    value = node.get("value")
    media = value if isinstance(value, Mapping) else {}
    media_id = media.get("id", value)
    if isinstance(media_id, (dict, list)) or media_id is None:
        media_id = ""
    ref = walk.data(str(media_id)) if media_id != "" else None
    label = media.get("alt") or media.get("filename") or f"media {media_id}".strip()
    if ref is None:
        return Markup('<p class="rt-missing">[{}: {}]</p>').format(
            "file" if _is_file(media) else "image not available", text_html(label)
        )
    caption = Markup("")
    if media.get("alt"):
        caption = Markup('<p class="rt-caption">{}</p>').format(text_html(media["alt"]))
    return Markup(
        '<div class="rt-figure"><img src="{}" width="{}" height="{}" alt="{}"/>{}</div>'
    ).format(ref.src, ref.width, ref.height, plain_text(label), caption)


def _is_file(media: Mapping[str, Any]) -> bool:
    mime = media.get("mimeType")
    return isinstance(mime, str) and not mime.startswith("image/")


def _table(node: Node, walk: _Walk) -> Markup:
    rows = Markup("").join(_table_row(row, walk) for row in children(node))
    # A header row is repeated on every page the table runs onto (xhtml2pdf's `repeat`).
    repeat = Markup(' repeat="1"') if _is_header_row(next(iter(children(node)), {})) else ""
    return Markup('<table class="rt-table"{}>{}</table>').format(repeat, rows)


def _is_header_row(row: Node) -> bool:
    cells = children(row)
    return bool(cells) and all(
        isinstance(cell.get("headerState"), int) and cell["headerState"] > 0 for cell in cells
    )


def _table_row(node: Node, walk: _Walk) -> Markup:
    cells = Markup("").join(_table_cell(cell, walk) for cell in children(node))
    return Markup("<tr>{}</tr>").format(cells)


def _table_cell(node: Node, walk: _Walk) -> Markup:
    header = isinstance(node.get("headerState"), int) and node["headerState"] > 0
    tag = Markup("th" if header else "td")
    span = node.get("colSpan")
    span_attr = Markup(' colspan="{}"').format(span) if isinstance(span, int) and span > 1 else ""
    body = Markup("<br/>").join(
        _inline_all(children(child), walk) if children(child) else walk.visit(child, "inline")
        for child in children(node)
    )
    return Markup("<{}{}>{}</{}>").format(tag, span_attr, body, tag)


def _text(node: Node, _walk: _Walk) -> Markup:
    html = text_html(node.get("text", ""))
    fmt = node.get("format")
    bits = fmt if isinstance(fmt, int) else 0
    for bit, tag in reversed(_FORMAT_TAGS):
        if bits & bit:
            html = Markup("<{}>{}</{}>").format(Markup(tag), html, Markup(tag))
    if bits & _HIGHLIGHT:
        html = Markup('<span class="rt-mark">{}</span>').format(html)
    return html


def _linebreak(_node: Node, _walk: _Walk) -> Markup:
    return Markup("<br/>")


def _tab(_node: Node, _walk: _Walk) -> Markup:
    return Markup("&nbsp;&nbsp;&nbsp;&nbsp;")


def _link(node: Node, walk: _Walk) -> Markup:
    fields = node.get("fields")
    url = fields.get("url") if isinstance(fields, Mapping) else None
    if url is None:
        url = node.get("url")
    body = _inline_all(children(node), walk)
    href = safe_href(url)
    if href is None:
        return Markup('<span class="rt-link-dropped">{}</span>').format(body)
    return Markup('<a href="{}">{}</a>').format(href, body)


def _unknown(node: Node, walk: _Walk, *, block: bool) -> Markup:
    kids = children(node)
    if kids:
        inner = (
            _blocks(kids, walk)
            if block and any(k.get("type") in _BLOCK_HANDLERS for k in kids)
            else _inline_all(kids, walk)
        )
    else:
        text = _node_text(node) or f"[{node.get('type', 'unknown')}]"
        inner = text_html(text)
    tag = Markup("div" if block else "span")
    kind = str(node.get("type", "unknown"))
    return Markup('<{} class="rt-unknown" title="{}">{}</{}>').format(tag, kind, inner, tag)


_STRUCTURAL = frozenset({"listitem", "tablerow", "tablecell", "root"})


def _node_text(node: Node, linebreak: str = " ", depth: int = 0) -> str:
    """Every string a node holds: its text, its children's, and a block's field values.

    A loop (jobs.lexical.walker), so a document nested deeper than Python's stack still
    gives its text; rich text inside a block's fields counts as one level deeper.
    """
    return node_text(
        node,
        linebreak=linebreak,
        gap_after=lambda child: (
            child.get("type") in _BLOCK_HANDLERS or child.get("type") in _STRUCTURAL
        ),
        fields_text=lambda fields: _fields_text(fields, depth + 1),
    ).strip(" ")


def _fields_text(fields: Mapping[str, Any], depth: int = 0) -> str:
    skip = {"id", "blockType", "blockName"}
    values: list[str] = []
    for key, value in fields.items():
        if key in skip or value in (None, "", [], {}):
            continue
        if isinstance(value, Mapping) and isinstance(value.get("root"), Mapping):
            if depth < MAX_DEPTH:
                values.append(_node_text(value["root"], depth=depth))
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values.append(str(value))
        else:
            values.append(_json_text(value))
    return " — ".join(values)


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)[:2000]
    except RecursionError:
        return "[a value nested too deeply to show]"


_Handler = Handler[Markup, ImageSource]

_BLOCK_HANDLERS: dict[str, _Handler] = {
    "paragraph": _paragraph,
    "heading": _heading,
    "quote": _quote,
    "list": _list,
    "code": _code_block,
    "horizontalrule": _hr,
    "upload": _upload,
    "table": _table,
}

_INLINE_HANDLERS: dict[str, _Handler] = {
    "text": _text,
    "code-highlight": _text,
    "linebreak": _linebreak,
    "tab": _tab,
    "link": _link,
    "autolink": _link,
}

_MODES: dict[str, Mode[Markup, ImageSource]] = {
    "block": Mode(_BLOCK_HANDLERS, _other_block, _flat_block),
    "inline": Mode(_INLINE_HANDLERS, _other_inline, _flat_inline),
}
