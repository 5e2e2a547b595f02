"""#18: the brief's font files are read and hashed once per process, and again when they
change (`jobs.pdf.fonts`)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from xhtml2pdf import context as pisa_context
from xhtml2pdf import files as pisa_files

from jobs.pdf.brief import BriefOptions, render_brief
from jobs.pdf.fonts import remember_font_digests, remember_font_files
from tests.fixtures.brief import load_brief_data


def counting_open(module: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names `module` opens from now on (through whatever `open` it had)."""
    opened: list[str] = []
    inner = getattr(module, "open", open)

    def spy(name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(name))
        return inner(name, *args, **kwargs)

    monkeypatch.setattr(module, "open", spy, raising=False)
    return opened


def test_a_font_file_is_hashed_once_per_process_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xhtml2pdf MD5s every @font-face file per document (11 MB for the brief)."""
    remember_font_digests()
    opened = counting_open(pisa_context, monkeypatch)
    font = tmp_path / "face.ttf"
    font.write_bytes(b"first face")
    first = [pisa_context._file_digest(str(font)) for _ in range(3)]
    assert first == [hashlib.md5(b"first face").hexdigest()] * 3
    assert opened == [str(font)]
    font.write_bytes(b"second face, longer")
    assert pisa_context._file_digest(str(font)) == hashlib.md5(b"second face, longer").hexdigest()
    assert opened == [str(font)] * 2
    assert pisa_context._file_digest(str(tmp_path / "missing.ttf")) is None


def test_a_font_file_is_read_once_per_process_and_again_when_it_changes(tmp_path: Path) -> None:
    remember_font_files()
    font = tmp_path / "face.ttf"
    font.write_bytes(b"first face")
    reads = [pisa_files.open(font, "rb").read() for _ in range(3)]  # type: ignore[attr-defined]
    assert reads == [b"first face"] * 3
    assert reads[0] is reads[2]  # the same bytes, not a copy
    font.write_bytes(b"second face, longer")
    with pisa_files.open(font, "rb") as again:  # type: ignore[attr-defined]
        assert again.read() == b"second face, longer"


def test_other_files_are_read_as_before(tmp_path: Path) -> None:
    remember_font_files()
    css = tmp_path / "brief.css"
    css.write_text("p { color: teal }")
    with pisa_files.open(css, encoding="utf-8") as text:  # type: ignore[attr-defined]
        assert text.read() == "p { color: teal }"
    with pisa_files.open(css, "rb") as raw:  # type: ignore[attr-defined]
        raw.read()
        css.write_text("p { color: red }")
    with pisa_files.open(css, "rb") as raw:  # type: ignore[attr-defined]
        assert raw.read() == b"p { color: red }"
    with pytest.raises(FileNotFoundError):
        pisa_files.open(tmp_path / "missing.ttf", "rb")  # type: ignore[attr-defined]


def test_a_second_brief_opens_no_font_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first render reads each face; the next opens none, and is the same PDF."""
    data = load_brief_data()
    first = tmp_path / "first.pdf"
    render_brief(data, first, options=BriefOptions())
    opened: list[str] = []
    real_open = io.open

    def spy(name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    monkeypatch.setattr("io.open", spy)
    second = tmp_path / "second.pdf"
    render_brief(data, second, options=BriefOptions())
    assert opened, "the spy saw nothing at all"
    assert [name for name in opened if Path(name).suffix in (".ttf", ".ttc")] == []
    assert second.read_bytes() == first.read_bytes()
