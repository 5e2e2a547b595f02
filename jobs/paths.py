"""Turn names that come from content (titles, filenames) into safe path components."""

from __future__ import annotations

import re
import unicodedata

MAX_COMPONENT_CHARS = 120
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}


def safe_component(name: str, *, fallback: str = "untitled") -> str:
    """One path component: no separators, control or reserved characters, bounded length.

    Unicode letters are kept (NFC-normalised); leading dots are removed so that
    `..` and hidden files cannot appear.
    """
    name = unicodedata.normalize("NFC", name)
    name = _FORBIDDEN.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem = name.split(".", 1)[0].lower()
    if stem in _RESERVED:
        name = f"_{name}"
    if len(name) > MAX_COMPONENT_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = f"{stem[: MAX_COMPONENT_CHARS - len(ext) - 1]}.{ext}"
        else:
            name = name[:MAX_COMPONENT_CHARS]
    return name or fallback


def slugify(text: str, *, fallback: str = "export") -> str:
    """An ASCII-friendly file name stem, for names of uploaded results."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:60] or fallback


class UniqueNames:
    """Hands out names, giving a stable `-2`, `-3` suffix to any that repeat."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, path: str) -> str:
        folder, slash, name = path.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = path, 1
        while candidate.lower() in self._taken:
            n += 1
            suffixed = f"{stem}-{n}" + (f".{ext}" if ext else "")
            candidate = f"{folder}{slash}{suffixed}"
        self._taken.add(candidate.lower())
        return candidate
