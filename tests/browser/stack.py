"""The end-to-end stack with Payload's real admin UI, as a Payload team installs the plugin:
`payload-plugin/scripts/make-app.mjs` packs the plugin, copies the committed template
(payload-plugin/app-template, the dev schema and seed) into a temp folder, installs the tarball,
runs `payload generate:importmap` and `next build`; `serve-app.mjs` seeds it and runs
`next start`. Plus the service's web process, a worker and an embedded Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.stack import PLUGIN, Stack

MAKE_APP = PLUGIN / "scripts" / "make-app.mjs"
SERVE_APP = PLUGIN / "scripts" / "serve-app.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
BUILD_TIMEOUT_S = 900.0
START_TIMEOUT_S = 180.0


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing; run scripts/setup-browser (as root: apt-get install chromium)"
        )
    if not (PLUGIN / "node_modules" / "typescript").is_dir():
        return "payload-plugin/node_modules is missing; run scripts/setup"
    return None


@dataclass
class AdminStack(Stack):
    """`Stack` with a freshly made Next.js app (plugin installed from its tarball) as Payload."""

    start_timeout_s: float = START_TIMEOUT_S
    made: dict[str, Any] = field(default_factory=dict)
    app_dir: Path | None = None

    @property
    def app(self) -> Path:
        return self.app_dir or self.root / "app"

    def build_admin(self) -> None:
        """Pack, install into a fresh app, generate the import map, `next build` (minutes).

        For local iteration only, EXPORT_TEST_APP names an app make-app.mjs made earlier
        (its make-app.json is read); CI always makes a fresh one.
        """
        reuse = os.environ.get("EXPORT_TEST_APP")
        if reuse and not os.environ.get("CI"):
            self.app_dir = Path(reuse)
            self.made = json.loads((self.app_dir / "make-app.json").read_text())
            return
        log = self.root / "make-app.log"
        with log.open("wb") as out:
            done = subprocess.run(
                ["node", str(MAKE_APP), "--dir", str(self.app)],
                cwd=self.root,
                stdout=subprocess.PIPE,
                stderr=out,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"the app was not made:\n{self.log('make-app')[-4000:]}")
        self.made = json.loads(done.stdout.decode().strip().splitlines()[-1])

    def payload_process(self, env: dict[str, str]) -> tuple[list[str], Path, dict[str, str]]:
        """The app made by `build_admin`, seeded and served by `next start`."""
        env = {k: v for k, v in env.items() if k != "NODE_ENV"}  # next sets its own
        return ["node", str(SERVE_APP), "--dir", str(self.app)], self.app, env

    def rss_mb(self) -> dict[str, int]:
        """Resident memory of each process tree (for the report), in MB."""
        out: dict[str, int] = {}
        for name, process in self.processes.items():
            pids = [process.pid, *_descendants(process.pid)]
            total = 0
            for pid in pids:
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                except OSError:
                    pass
            out[name] = total // 1024
        return out


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found.append(int(child))
        found.extend(_descendants(int(child)))
    return found
