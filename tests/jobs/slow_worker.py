"""A real worker process whose exports take ~20 s, for the shutdown test.

Run as `python -m tests.jobs.slow_worker`: it swaps the export builder for a slow one that
reports progress (a checkpoint) every 0.1 s, then runs `export-service worker`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from app.cli import main as cli
from jobs import runner


def slow_build(ctx: Any) -> Any:
    for step in range(200):
        ctx.progress.report("slow work", step / 2)
        time.sleep(0.1)
    raise AssertionError("the slow export was not stopped")


runner.builder_for = lambda export_type: slow_build  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli.main(["worker"]))
