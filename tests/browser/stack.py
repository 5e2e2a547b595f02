"""The end-to-end stack with Payload's real admin UI: the Next.js admin app
(payload-plugin/admin-dev, same schema, seed and plugin as the REST-only dev server) instead of
the REST-only server, plus the service's web process, a worker and an embedded Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.e2e.stack import PLUGIN, WEBHOOK_SECRET, Stack, _answers

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


class AdminStack(Stack):
    """`Stack` with the Next.js admin app (`next build` once, then `next start`) as Payload."""

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

    def _start_payload(self, port: int) -> None:
        data = self.root / "payload"
        env = {
            **os.environ,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "DATABASE_PATH": str(data / "payload.db"),
            "MEDIA_DIR": str(data / "media"),
            "SEED_JSON_PATH": str(data / "seed.json"),
            "EXPORT_SERVICE_URL": self.service_url,
            "EXPORT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PAYLOAD_SECRET": "e2e-payload-secret",
        }
        env.pop("NODE_ENV", None)
        self._spawn("payload", ["node", "scripts/run.mjs", "start"], env, cwd=ADMIN_DEV)
        self.payload_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.processes["payload"].poll() is not None:
                raise RuntimeError(f"the admin app exited early:\n{self.log('payload')[-4000:]}")
            if (data / "seed.json").exists() and _answers(f"{self.payload_url}/api/users/me"):
                break
            time.sleep(0.25)
        else:
            tail = self.log("payload")[-4000:]
            raise RuntimeError(f"the admin app did not start in {START_TIMEOUT_S} s:\n{tail}")
        self.seed = json.loads((data / "seed.json").read_text())

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
