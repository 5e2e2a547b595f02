"""Starts the stack with the real Payload admin UI once for the browser tests, and Chromium."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser.stack import CHROMIUM, AdminStack, browser_missing
from tests.e2e.stack import node_missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

# Debian's Chromium, never a downloaded browser. The network is closed: keep Chromium quiet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config: pytest.Config) -> None:
    # also registered in pyproject.toml; harmless when both are present
    config.addinivalue_line("markers", "browser: tests in Chromium against Payload's real admin UI")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def admin_stack(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[AdminStack]:
    missing = node_missing() or browser_missing()
    if missing:
        _unavailable(missing)
    running = AdminStack(root=tmp_path_factory.mktemp("browser"))
    timings: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        running.build_admin()
        timings["make_app_s"] = time.monotonic() - t0
        timings.update({k: v for k, v in running.made.items() if k.endswith("_s")})
        t0 = time.monotonic()
        running.start()
        timings["start_s"] = time.monotonic() - t0
        yield running
        (artifacts / "memory.txt").write_text(
            "".join(f"{k}: {v} MB\n" for k, v in running.rss_mb().items())
            + "".join(f"{k}: {v:.1f}\n" for k, v in timings.items())
        )
    finally:
        running.stop()
        for log in running.root.glob("*.log"):
            shutil.copy(log, artifacts / log.name)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if browser_missing():
        _unavailable(str(browser_missing()))
    from playwright.sync_api import sync_playwright

    # launch() gives Chromium a fresh temporary profile (--user-data-dir) and removes it after
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, admin_stack: AdminStack) -> Iterator[Any]:
    with browser_page(chromium, admin_stack, locale="en-US") as opened:
        yield opened


@pytest.fixture
def german_page(chromium: Any, admin_stack: AdminStack) -> Iterator[Any]:
    """A browser whose language is German (Accept-Language: de-DE)."""
    with browser_page(chromium, admin_stack, locale="de-DE") as opened:
        yield opened


@contextmanager
def browser_page(chromium: Any, admin_stack: AdminStack, *, locale: str) -> Iterator[Any]:
    """A page in a fresh browser context on the admin, in `locale`."""
    context = chromium.new_context(
        viewport={"width": 1400, "height": 900},
        base_url=admin_stack.payload_url,
        locale=locale,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()
