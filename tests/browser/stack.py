"""The end-to-end stack with Payload's real admin UI: the Next.js admin app
(payload-plugin/admin-dev, same schema, seed and plugin as the REST-only dev server) instead of
the REST-only server, plus the service's web process, a worker and an embedded Redis.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stack import PLUGIN, Stack

ADMIN_DEV = PLUGIN / "admin-dev"
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
    if not (ADMIN_DEV / "node_modules" / "next").is_dir():
        return "payload-plugin/admin-dev/node_modules is missing; run scripts/setup-browser"
    return None


@dataclass
class AdminStack(Stack):
    """`Stack` with the Next.js admin app (`next build` once, then `next start`) as Payload."""

    start_timeout_s: float = START_TIMEOUT_S

    def build_admin(self) -> None:
        """`next build`, unless its inputs are unchanged since the last build (can take minutes)."""
        log = self.root / "admin-build.log"
        with log.open("wb") as out:
            done = subprocess.run(
                ["node", "scripts/run.mjs", "build"],
                cwd=ADMIN_DEV,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"the admin app did not build:\n{self.log('admin-build')[-4000:]}")

    def payload_process(self, env: dict[str, str]) -> tuple[list[str], Path, dict[str, str]]:
        """The admin app, built by `build_admin`, served by `next start`."""
        env = {k: v for k, v in env.items() if k != "NODE_ENV"}  # next sets its own
        return ["node", "scripts/run.mjs", "start"], ADMIN_DEV, env

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
