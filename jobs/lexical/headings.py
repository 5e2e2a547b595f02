"""A script's body often opens with its own title as a heading: left out where the
export prints the title already, so no title appears twice in a row.

Only the root's first block is looked at (no walk), so this needs no depth guard.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

#: Characters of a block's text read to compare it with the title.
MAX_TITLE_CHARS = 500
_TITLE_BLOCKS = frozenset({"heading", "paragraph"})


def without_leading_title(body: Any, title: str | None) -> Any:
    """`body` (Lexical JSON) without its first block when that block only repeats `title`."""
    if not title or not isinstance(body, Mapping) or not isinstance(body.get("root"), Mapping):
        return body
    root = body["root"]
    children = root.get("children")
    if not isinstance(children, list) or not children:
        return body
    first = children[0]
    if not isinstance(first, Mapping) or first.get("type") not in _TITLE_BLOCKS:
        return body
    if _normal(_shallow_text(first)) != _normal(title):
        return body
    return {**body, "root": {**root, "children": children[1:]}}


def _shallow_text(block: Mapping[str, Any]) -> str:
    """The text of a block's own text children (a title is never nested deeper)."""
    parts = []
    for child in block.get("children") or []:
        if isinstance(child, Mapping) and isinstance(child.get("text"), str):
            parts.append(child["text"])
    return "".join(parts)[:MAX_TITLE_CHARS]


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", folded).strip(" .:")
