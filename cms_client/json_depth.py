"""How deep Payload's answers may nest, and where an answer goes deeper.

Rich text is stored as nested JSON, and nothing stops an editor (or a script) from saving
lists inside lists a thousand levels deep. Python's JSON parser, its JSON writer and every
recursive reader after them would fail on such a document with a `RecursionError`; the
client refuses it instead, naming the field (`CMSDocumentTooDeep`).

`MAX_DOCUMENT_DEPTH` is counted in JSON levels (each object or array is one): Payload's
own documents use about 10, a Lexical list nested 40 deep about 160.
"""

from __future__ import annotations

from typing import Any

MAX_DOCUMENT_DEPTH = 200

Path = list[str | int]


def deep_path(value: Any, limit: int = MAX_DOCUMENT_DEPTH) -> Path | None:
    """The path to the first container nested over `limit` levels in `value`, or None.

    A loop, so any depth can be measured.
    """
    stack: list[tuple[Any, int, Path]] = [(value, 1, [])]
    while stack:
        current, depth, path = stack.pop()
        if isinstance(current, dict):
            items: list[tuple[str | int, Any]] = list(current.items())
        elif isinstance(current, list):
            items = list(enumerate(current))
        else:
            continue
        if depth > limit:
            return path
        stack.extend((child, depth + 1, [*path, key]) for key, child in reversed(items))
    return None


def deep_path_in_text(text: str, limit: int = MAX_DOCUMENT_DEPTH) -> Path:
    """The path where raw JSON `text` first nests over `limit` levels (for text too deep
    to parse at all). Keys are given as written; `[]` when it never does."""
    path: Path = []
    kinds: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _after_string(text, i, kinds, path)
            continue
        if char in "{[":
            kinds.append(char)
            path.append("" if char == "{" else 0)
            if len(kinds) > limit:
                return path[:-1]
        elif char in "}]" and kinds:
            kinds.pop()
            path.pop()
        elif char == "," and kinds and kinds[-1] == "[":
            path[-1] = int(path[-1]) + 1
        i += 1
    return []


def _after_string(text: str, start: int, kinds: list[str], path: Path) -> int:
    """Skip the string at `start`; if it is an object's key, record it. Returns the end."""
    end = start + 1
    while end < len(text) and text[end] != '"':
        end += 2 if text[end] == "\\" else 1
    following = text[end + 1 : end + 1 + 64].lstrip()
    if kinds and kinds[-1] == "{" and following.startswith(":"):
        path[-1] = text[start + 1 : end]
    return end + 1


def field_of(path: Path) -> str:
    """The document field a path is in: `summary` for `doc.summary…` or `docs.3.summary…`."""
    rest: Path = path
    if rest[:1] == ["doc"]:
        rest = rest[1:]
    elif rest[:1] == ["docs"] and len(rest) > 1 and isinstance(rest[1], int):
        rest = rest[2:]
    return str(rest[0]) if rest else "the document"
