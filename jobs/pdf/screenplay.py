"""Scripts of kind `script` laid out as a screenplay, from the conventions of their text.

A body is read as lines (each paragraph, heading and line break); a line is

- a scene heading: `INT.`, `EXT.`, `INT./EXT.`, `I/E`, `EST.` (and their German and Greek
  forms, or a Lexical heading), set in capitals;
- a transition: a capitals line ending in `TO:`, or `FADE IN:` / `FADE OUT.`;
- a character cue: a capitals name alone on its line followed by speech, or `NAME: speech`
  on one line (then cue and dialogue are split);
- a parenthetical: `(quietly)` after a cue;
- dialogue: the lines after a cue, up to the next empty line, heading or cue;
- action: everything else.

A body with anything but paragraphs and headings (images, tables, lists), or with neither a
scene heading nor a cue, stays prose: `screenplay_html` returns None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from jobs.lexical.html import text_html

#: Longest body laid out as a screenplay, in lines (a longer one stays prose).
MAX_LINES = 5_000
#: Longest character cue, in characters.
MAX_CUE_CHARS = 40

_SCENE = re.compile(
    r"^(?:INT\.?/EXT|EXT\.?/INT|I/E|INT|EXT|EST|INNEN|AUSSEN|AUẞEN|ΕΣΩΤ|ΕΞΩΤ|ΣΚΗΝΗ|SCENE)[.\s]"
)
_TRANSITION = re.compile(r"^(?:[^a-z]+ TO:|FADE IN:|FADE OUT\.?|CUT TO BLACK\.?)$")
_INLINE_CUE = re.compile(rf"^([^\W\d_][^:]{{0,{MAX_CUE_CHARS}}}):\s+(\S.*)$")
_TEXT_BLOCKS = frozenset({"paragraph", "heading"})


@dataclass(frozen=True)
class Line:
    kind: str  # scene, action, cue, paren, dialogue, transition
    text: str


def screenplay_html(body: Any) -> Markup | None:
    """The body as screenplay HTML, or None when it is not written as one."""
    blocks = _text_blocks(body)
    if blocks is None:
        return None
    lines = list(classify(blocks))
    if not any(line.kind in ("scene", "cue") for line in lines):
        return None
    return Markup("").join(
        Markup('<p class="sp-{}">{}</p>').format(line.kind, text_html(line.text)) for line in lines
    )


def classify(blocks: list[tuple[str, str]]) -> Iterator[Line]:
    """Each (block type, line) as a screenplay line; an empty line ends a speech."""
    after = ""  # the kind of the previous line, "" after an empty one
    for index, (block_type, text) in enumerate(blocks):
        text = text.strip()
        if not text:
            after = ""
            continue
        following = blocks[index + 1][1].strip() if index + 1 < len(blocks) else ""
        lines = _one(block_type, text, following, after)
        after = lines[-1].kind
        yield from lines


def _one(block_type: str, text: str, following: str, after: str) -> list[Line]:
    speaking = after in ("cue", "paren", "dialogue")
    if block_type == "heading" or _SCENE.match(text):
        return [Line("scene", text.upper())]
    if _is_caps(text) and _TRANSITION.match(text):
        return [Line("transition", text)]
    inline = _INLINE_CUE.match(text)
    if inline and _is_caps(inline.group(1)):
        return [Line("cue", inline.group(1).strip()), Line("dialogue", inline.group(2))]
    if _is_caps(text) and len(text) <= MAX_CUE_CHARS and following and after != "cue":
        return [Line("cue", text)]
    if speaking and text.startswith("(") and text.endswith(")"):
        return [Line("paren", text)]
    if after in ("cue", "paren"):
        return [Line("dialogue", text)]
    return [Line("action", text)]


def _is_caps(text: str) -> bool:
    """Capitals only, and at least one cased letter (so a Japanese line is never a cue)."""
    return text == text.upper() and any(c.isupper() for c in text)


def _text_blocks(body: Any) -> list[tuple[str, str]] | None:
    """(block type, line) for every line of a body of paragraphs and headings, else None."""
    root = body.get("root") if isinstance(body, Mapping) else None
    children = root.get("children") if isinstance(root, Mapping) else None
    if not isinstance(children, list):
        return None
    lines: list[tuple[str, str]] = []
    for block in children:
        if not isinstance(block, Mapping) or block.get("type") not in _TEXT_BLOCKS:
            return None
        for text in _block_lines(block):
            lines.append((str(block["type"]), text))
        if len(lines) > MAX_LINES:
            return None
    return lines


def _block_lines(block: Mapping[str, Any]) -> list[str]:
    """A block's text split at its line breaks (inline children only; links' text kept)."""
    lines = [""]
    for child in block.get("children") or []:
        if not isinstance(child, Mapping):
            continue
        if child.get("type") == "linebreak":
            lines.append("")
        elif isinstance(child.get("text"), str):
            lines[-1] += child["text"]
        else:  # a link or another inline element: its own text children
            for grandchild in child.get("children") or []:
                if isinstance(grandchild, Mapping) and isinstance(grandchild.get("text"), str):
                    lines[-1] += grandchild["text"]
    return lines
