"""Names from content become safe archive paths; repeats get stable suffixes."""

from __future__ import annotations

import pytest

from jobs.paths import MAX_COMPONENT_BYTES, UniqueNames, safe_component, safe_path, slugify


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("cover.jpg", "cover.jpg"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "untitled"),
        ("/abs/path.png", "_abs_path.png"),
        ("C:\\Windows\\win.ini", "C__Windows_win.ini"),
        ("a\x00b\x1fc\x7f.txt", "a_b_c_.txt"),
        ("notes\u202egpj.exe", "notesgpj.exe"),
        ("what?<>|*.png", "what_____.png"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ("trailing dots...", "trailing dots"),
        ("  spaced   out  ", "spaced out"),
        ("Ünïcode 日本語 🎬.png", "Ünïcode 日本語 🎬.png"),
        ("", "untitled"),
    ],
)
def test_safe_component(name, safe):
    assert safe_component(name) == safe


def test_unicode_is_normalised_to_nfc():
    assert safe_component("e\u0301.txt") == "\u00e9.txt"


def test_long_names_are_cut_by_utf8_bytes_keeping_the_extension():
    name = safe_component("日" * 200 + ".png")
    assert name.endswith(".png")
    assert len(name.encode()) <= MAX_COMPONENT_BYTES
    name.encode().decode()  # no character cut in half


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("media//./a.png", "media/a.png"),
        ("a\\..\\b.txt", "a/b.txt"),
        ("/", "untitled"),
    ],
)
def test_safe_path_never_leaves_the_root(path, safe):
    assert safe_path(path) == safe


def test_repeats_get_the_tag_then_numbers_compared_case_insensitively():
    names = UniqueNames()
    assert names.claim("media/cover.jpg", tag="101") == "media/cover.jpg"
    assert names.claim("media/Cover.JPG", tag="102") == "media/Cover-102.JPG"
    assert names.claim("media/cover.jpg", tag="102") == "media/cover-2.jpg"
    assert names.claim("media/cover.jpg") == "media/cover-3.jpg"
    assert names.claim("media/noext") == "media/noext"
    assert names.claim("media/noext") == "media/noext-2"


def test_suffixes_are_stable_whatever_the_order_of_other_names():
    one, two = UniqueNames(), UniqueNames()
    one.claim("media/a.jpg", tag="1")
    assert one.claim("media/a.jpg", tag="7") == "media/a-7.jpg"
    two.claim("media/b.jpg", tag="3")
    two.claim("media/a.jpg", tag="1")
    assert two.claim("media/a.jpg", tag="7") == "media/a-7.jpg"


def test_reserved_names_are_never_handed_out():
    names = UniqueNames()
    names.reserve("manifest.json")
    assert names.claim("MANIFEST.json") == "MANIFEST-2.json"


def test_a_suffix_on_a_name_at_the_limit_stays_within_it():
    names = UniqueNames()
    long = safe_component("x" * 400 + ".mov")
    names.claim(f"media/{long}")
    second = names.claim(f"media/{long}", tag="12345")
    assert second.endswith("-12345.mov")
    assert len(second.removeprefix("media/").encode()) <= MAX_COMPONENT_BYTES


def test_slugify():
    assert slugify("The Lighthouse Keeper — Ünïcode!") == "the-lighthouse-keeper-unicode"
    assert slugify("日本語") == "export"
