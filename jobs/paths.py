"""Turn names that come from content (titles, filenames) into safe archive paths.

Every path that goes into an export is built here, from names a person typed into the
CMS: `safe_component` makes one name harmless (no separators, `..`, control, bidi or
reserved characters, bounded length, Unicode kept), `safe_path` does it for each part
of a relative path, and `UniqueNames` gives repeated names a stable suffix.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import unquote

#: Longest component, in UTF-8 bytes: most file systems stop at 255.
MAX_COMPONENT_BYTES = 180
#: Longest extension kept whole when a name is shortened.
MAX_EXTENSION_CHARS = 10

_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
# Bidirectional overrides and isolates can make `gpj.exe` read as `exe.jpg`.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Windows device names, with or without an extension, in any case: COM0–9 and LPT0–9
# including the superscript digits Windows also accepts, and the console devices.
_DEVICE_DIGITS = "0123456789\u00b9\u00b2\u00b3"
_RESERVED = {
    "con", "prn", "aux", "nul", "conin$", "conout$", "clock$",
    *(f"com{d}" for d in _DEVICE_DIGITS),
    *(f"lpt{d}" for d in _DEVICE_DIGITS),
}  # fmt: skip
#: Percent-escapes are decoded this many times at most (`%252F` → `%2F` → `/`).
MAX_UNQUOTE_ROUNDS = 4


def safe_component(name: str, *, fallback: str = "untitled") -> str:
    """One path component: no separators, control or reserved characters, bounded length.

    Percent-escapes are decoded first (a name that decodes to `../` is treated as one).
    Unicode letters are kept (NFC-normalised); leading and trailing dots and spaces are
    removed so that `..`, hidden files and names Windows cannot open cannot appear.
    """
    name = unicodedata.normalize("NFC", _unquoted(name))
    name = _BIDI.sub("", name)
    name = _FORBIDDEN.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if name.split(".", 1)[0].rstrip(" ").lower() in _RESERVED:
        name = f"_{name}"
    return _shorten(name, MAX_COMPONENT_BYTES) or fallback


def _unquoted(name: str) -> str:
    """`name` with percent-escapes decoded until none is left, so `..%2F` is seen as `../`."""
    for _ in range(MAX_UNQUOTE_ROUNDS):
        decoded = unquote(name)
        if decoded == name:
            break
        name = decoded
    return name


def _shorten(name: str, max_bytes: int) -> str:
    """`name` cut to `max_bytes` of UTF-8, keeping a short extension whole."""
    if len(name.encode()) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not 0 < len(ext) <= MAX_EXTENSION_CHARS:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    return _cut_utf8(stem, max_bytes - len(suffix.encode())).rstrip(" .") + suffix


def _cut_utf8(text: str, max_bytes: int) -> str:
    return text.encode()[: max(0, max_bytes)].decode("utf-8", "ignore")


def safe_path(path: str, *, fallback: str = "untitled") -> str:
    """A relative archive path made of safe components.

    Back-slashes count as separators; empty, `.` and `..` parts are dropped, so the
    result never leaves the archive's root (`../../etc/passwd` becomes `etc/passwd`).
    """
    parts = [p for p in re.split(r"[/\\]+", _unquoted(path)) if p.strip(" .")]
    safe = [safe_component(p) for p in parts]
    return "/".join(safe) or fallback


def slugify(text: str, *, fallback: str = "export") -> str:
    """An ASCII-friendly file name stem, for names of uploaded results."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:60] or fallback


def split_extension(name: str) -> tuple[str, str]:
    """`("cover", ".jpg")` for `cover.jpg`; a leading-dot or over-long tail is no extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not 0 < len(ext) <= MAX_EXTENSION_CHARS:
        return name, ""
    return stem, f".{ext}"


class UniqueNames:
    """Hands out archive paths, giving any that repeat a stable suffix.

    Paths are compared case-insensitively and NFC-normalised, because that is how
    macOS and Windows will see them once unpacked. A repeat gets the `tag` it was
    claimed with (a media id: `cover-102.jpg`, the same in every export of the project),
    or `-2`, `-3`… when there is no tag or that is taken too.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, path: str, *, tag: str | None = None) -> str:
        """`path` itself if it is free, else the first free suffixed variant of it."""
        for candidate in self._candidates(path, tag):
            key = self._key(candidate)
            if key not in self._taken:
                self._taken.add(key)
                return candidate
        raise AssertionError("unreachable: the candidates never end")

    @staticmethod
    def _candidates(path: str, tag: str | None) -> Iterator[str]:
        yield path
        folder, slash, name = path.rpartition("/")
        stem, ext = split_extension(name)
        numbered = (f"-{n}" for n in itertools.count(2))
        tagged = [f"-{safe_component(tag)}"] if tag else []
        for suffix in itertools.chain(tagged, numbered):
            room = MAX_COMPONENT_BYTES - len((suffix + ext).encode())
            yield f"{folder}{slash}{_cut_utf8(stem, room)}{suffix}{ext}"

    def reserve(self, path: str) -> None:
        """Mark a path as taken without handing it out (names written at the end)."""
        self._taken.add(self._key(path))

    @staticmethod
    def _key(path: str) -> str:
        return unicodedata.normalize("NFC", path).casefold()
