"""requirements.lock pins every dependency pyproject.toml names, within its range.

`scripts/setup` and CI install from the lock; `scripts/lock` refreshes it after a change to
pyproject.toml. This fails when one was changed without the other.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;]+)")


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    found = (PIN.match(line) for line in lines)
    return {canonicalize_name(m["name"]): m["version"] for m in found if m}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    raw = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in raw]


def test_every_declared_dependency_is_pinned_within_its_range():
    locked = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock; run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement}; "
            "run scripts/lock"
        )


def test_the_golden_pdf_libraries_are_pinned():
    assert {"xhtml2pdf", "reportlab", "pillow", "pypdf"} <= set(pins())
