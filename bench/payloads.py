"""The Payload a latency run exports from: the dev Payload or the stub, with a 10-section brief.

    payload = start_dev_payload(root, service_url=..., webhook_secret=...)   # or start_stub()
    try:
        ...  # export payload.project_id as payload.editor_auth
    finally:
        payload.close()

* dev  -- the real dev Payload (Node, SQLite, the plugin) started the way `./scripts/run`
          starts it (`app.cli.embedded.start_dev_payload`), but on a fresh database and media
          folder under `root`, seeded by `payload-plugin/dev/seed.mjs`; the sample project
          is exported by the seeded editor, the service uses the seeded service user's key;
* stub -- `tests/payload_stub.py` over HTTP (`bench.fake_payload`): the same shapes in one
          Python thread, for a quick run without Node.

Either way the project gets published scripts up to `SECTIONS` (the seed has 3), so the
brief has 10 sections, and a timeline of stills for the video export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

from app.cli import embedded
from bench.fake_payload import FakePayload
from bench.fault_injection import free_port
from tests.payload_stub import EDITOR_KEY, SERVICE_KEY, PayloadStub, auth_header, lexical, seed

#: Sections of the brief the issue measures (#18): one per published script.
SECTIONS = 10
STUB_PROJECT_ID = 17
#: Seconds a Node process gets to end after SIGTERM before it is killed.
NODE_STOP_TIMEOUT_S = 10


@dataclass
class BenchPayload:
    """A running Payload with the project to export and the keys to export it with."""

    mode: str  # "dev" or "stub"
    url: str
    version: str
    project_id: int | str
    editor_auth: str  # the person exporting
    service_key: str  # the service's own PAYLOAD_API_KEY
    close: Callable[[], None]
    #: The Payload server's process (its CPU is part of each export's); None: in this one.
    pid: int | None = None

    @property
    def service_auth(self) -> str:
        return auth_header(self.service_key)

    def export_media_count(self) -> int:
        """Export results of the project in Payload's Media (what a re-export must not add)."""
        response = requests.get(
            f"{self.url}/api/media",
            params={
                "where[exportOf][equals]": str(self.project_id),
                "where[exportType][exists]": "true",
                "limit": "1",
                "depth": "0",
            },
            headers={"Authorization": self.service_auth},
            timeout=30,
        )
        response.raise_for_status()
        return int(response.json()["totalDocs"])


def script_body(order: int) -> dict[str, Any]:
    """Eight lines of Lexical rich text for the padding script `order`."""
    return lexical(
        *(f"Scene {order}, beat {n}: the keeper climbs the stairs at dusk." for n in range(8))
    )


# -- the dev Payload -----------------------------------------------------------------------


def start_dev_payload(root: Path, *, service_url: str, webhook_secret: str) -> BenchPayload:
    """The dev Payload on a fresh database under `root`, seeded and padded to SECTIONS."""
    log = (root / "payload.log").open("a", buffering=1)
    dev = embedded.start_dev_payload(
        port=free_port(),
        service_url=service_url,
        webhook_secret=webhook_secret,
        data_dir=root / "payload",
        output=log,  # its lines go to the log, not the report
    )
    node = psutil.Process(dev.process.pid).children(recursive=True)

    def close() -> None:
        dev.stop()
        _kill_survivors(node)
        log.close()

    try:
        users, project_id = dev.seed["users"], dev.seed["projects"]["sample"]
        _add_scripts(dev.url, auth_header(users["admin"]["apiKey"]), project_id)
        return BenchPayload(
            mode="dev",
            url=dev.url,
            version=f"payload {_installed_payload_version()} (dev Payload, SQLite)",
            project_id=project_id,
            editor_auth=auth_header(users["editor"]["apiKey"]),
            service_key=users["service"]["apiKey"],
            close=close,
            pid=dev.process.pid,
        )
    except BaseException:
        close()
        raise


def _add_scripts(url: str, admin_auth: str, project_id: int | str) -> None:
    """Published scripts after the seeded ones, up to SECTIONS, created as the admin."""
    headers = {"Authorization": admin_auth}
    found = requests.get(
        f"{url}/api/scripts",
        params={"where[project][equals]": str(project_id), "limit": "1", "depth": "0"},
        headers=headers,
        timeout=30,
    )
    found.raise_for_status()
    for order in range(found.json()["totalDocs"] + 1, SECTIONS + 1):
        data = {
            "title": f"Draft {order}",
            "project": project_id,
            "kind": "script",
            "order": order,
            "body": script_body(order),
            "_status": "published",
        }
        created = requests.post(f"{url}/api/scripts", json=data, headers=headers, timeout=30)
        if created.status_code != 201:
            raise RuntimeError(
                f"could not add script {order}: {created.status_code} {created.text}"
            )


def _installed_payload_version() -> str:
    package = embedded.PLUGIN_DIR / "node_modules" / "payload" / "package.json"
    return str(json.loads(package.read_text())["version"])


def _kill_survivors(processes: list[psutil.Process]) -> None:
    """Node children that outlived npm's SIGTERM (npm forwards it; this is in case not)."""
    _, alive = psutil.wait_procs(processes, timeout=NODE_STOP_TIMEOUT_S)
    for process in alive:
        process.kill()


# -- the stub ------------------------------------------------------------------------------


def seeded_stub() -> PayloadStub:
    """The test suite's seed, padded to SECTIONS scripts, with a timeline of its two stills."""
    stub = PayloadStub(None)
    seed(stub)
    for order in range(4, SECTIONS + 1):
        stub.add(
            "scripts",
            {
                "title": f"Draft {order}",
                "project": STUB_PROJECT_ID,
                "kind": "script",
                "order": order,
                "body": script_body(order),
            },
        )
    project = stub.collections["projects"][STUB_PROJECT_ID]
    project["timeline"] = {
        "clips": [{"mediaId": media_id, "in": 0, "out": 2} for media_id in project["media"]],
        "titles": [{"text": project["title"], "duration": 1, "at": 0}],
    }
    return stub


def start_stub() -> BenchPayload:
    fake = FakePayload(seeded_stub()).start()
    return BenchPayload(
        mode="stub",
        url=fake.url,
        version="stub (tests/payload_stub.py over HTTP)",
        project_id=STUB_PROJECT_ID,
        editor_auth=auth_header(EDITOR_KEY),
        service_key=SERVICE_KEY,
        close=fake.close,
    )
