"""Starts the real stack once for the end-to-end tests (see tests/e2e/stack.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, free_port, node_missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _running(Stack(root=tmp_path_factory.mktemp("e2e")))


@pytest.fixture(scope="module")
def uuid_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Another Payload whose ids are strings (uuid), as with MongoDB, and a service on it."""
    root = tmp_path_factory.mktemp("e2e-uuid")
    yield from _running(Stack(root=root, payload_env={"PAYLOAD_ID_TYPE": "uuid"}), "uuid-")


def _running(running: Stack, prefix: str = "") -> Iterator[Stack]:
    missing = node_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run the end-to-end tests", pytrace=False)
        pytest.skip(missing)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in running.root.glob("*.log"):
            shutil.copy(log, ARTIFACTS / f"{prefix}{log.name}")


@pytest.fixture(scope="session")
def operators_service(stack: Stack) -> str:
    """A second web process and worker whose own key is in the `operators` collection
    (PAYLOAD_AUTH_COLLECTION=operators), on a queue of their own; yields its URL."""
    return stack.start_service(
        free_port(),
        api_key=stack.seed["operators"]["service"]["apiKey"],
        work=stack.root / "operators-work",
        name="operators-",
        PAYLOAD_AUTH_COLLECTION="operators",
        EXPORT_QUEUE="operator-exports",
    )
