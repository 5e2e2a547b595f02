"""The README is what a newcomer trusts: its configuration table and commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_the_service_reads_is_in_the_configuration_table():
    source = (ROOT / "app" / "settings.py").read_text()
    read = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})",?\s*(?:_|Path|\w+\))', source))
    read |= set(re.findall(r'read\(\s*"([A-Z][A-Z0-9_]+)"', source))
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", table))
    assert read - documented == set(), "settings missing from the README's table"
    assert documented - read - {"PORT", "INFO"} == set(), "README documents unread settings"


def test_the_two_commands_exist_and_ci_runs_the_test_command():
    assert "./scripts/run" in README and "./scripts/test" in README
    assert (ROOT / "scripts" / "run").stat().st_mode & 0o111
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_the_procfile_has_exactly_web_and_worker():
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert [line.split(":", 1)[0] for line in lines] == ["web", "worker"]
    assert "uvicorn app.main:app" in lines[0] and "$PORT" in lines[0].replace("${PORT", "$PORT")
