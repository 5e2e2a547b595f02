"""The manifests docs/deploy.md ships keep a worker's grace period and the time its
supervisor waits before SIGKILL in step, so a scale-down never kills an export mid-upload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from app.settings import Limits, Settings

GUIDE = (Path(__file__).resolve().parent.parent / "docs" / "deploy.md").read_text()
WRITE_BACK_S = 30  # time a worker needs after the grace period to record the failure


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE, flags=re.S)


def pod_specs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "containers" in node:
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from pod_specs(value)


def env_of(spec: dict[str, Any], name: str) -> str | None:
    for container in spec["containers"]:
        for item in container.get("env", []):
            if item["name"] == name:
                return str(item["value"])
    return None


def worker_specs() -> list[dict[str, Any]]:
    specs = [
        spec
        for block in blocks("yaml")
        for document in yaml.safe_load_all(block)
        for spec in pod_specs(document)
    ]
    return [s for s in specs if "worker" in s["containers"][0].get("command", [])]


def test_every_worker_pod_waits_for_the_grace_period_plus_the_write_back():
    specs = worker_specs()
    assert len(specs) >= 3  # fast Deployment, bulk ScaledJob, all-queues Deployment
    for spec in specs:
        grace = float(env_of(spec, "EXPORT_SHUTDOWN_GRACE_S") or Settings.shutdown_grace_s)
        command = " ".join(spec["containers"][0]["command"])
        assert spec["terminationGracePeriodSeconds"] >= grace + WRITE_BACK_S, command


def test_workers_that_take_bulk_exports_let_them_finish():
    for spec in worker_specs():
        command = spec["containers"][0]["command"]
        if "--queues" in command and command[command.index("--queues") + 1] == "fast":
            continue
        timeout = float(env_of(spec, "EXPORT_JOB_TIMEOUT_S") or Limits.job_timeout_s)
        assert float(env_of(spec, "EXPORT_SHUTDOWN_GRACE_S") or 0) >= timeout, command


def test_the_systemd_worker_unit_waits_long_enough():
    units = [b for b in blocks("ini") if "export-service worker" in b]
    assert units
    for unit in units:
        stop = int(re.search(r"TimeoutStopSec=(\d+)", unit).group(1))  # type: ignore[union-attr]
        assert stop >= Settings.shutdown_grace_s + WRITE_BACK_S


def test_autoscalers_follow_demand_or_a_list_of_waiting_bulk_exports():
    triggers = [
        trigger
        for block in blocks("yaml")
        for document in yaml.safe_load_all(block)
        if isinstance(document, dict) and document.get("kind") in ("ScaledObject", "ScaledJob")
        for trigger in document["spec"]["triggers"]
    ]
    for trigger in triggers:
        metadata = trigger["metadata"]
        if trigger["type"] == "metrics-api":
            assert metadata["valueLocation"].endswith("demand")
        else:  # a list only counts waiting jobs: fine for Jobs, never for a Deployment
            assert metadata["listName"] == "rq:queue:exports-bulk"
