"""A real worker process whose exports are slow, for the shutdown and interrupt tests.

Run as `python -m tests.jobs.slow_worker [export-service arguments]` (default: `worker`). It
swaps the export builder for one that reports progress (a checkpoint) every 0.1 s for
SLOW_EXPORT_S seconds (default 20). From 20 s on it never finishes; shorter, it goes on to
build the real export, so the job can succeed.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from app.cli import main as cli
from jobs import runner

SLOW_EXPORT_S = float(os.environ.get("SLOW_EXPORT_S", "20"))
real_builder_for = runner.builder_for


def slow_build(ctx: Any) -> Any:
    steps = int(SLOW_EXPORT_S * 10)
    for step in range(steps):
        ctx.progress.report("slow work", 50 * step / steps)
        time.sleep(0.1)
    if SLOW_EXPORT_S >= 20:
        raise AssertionError("the slow export was not stopped")
    return real_builder_for(ctx.job.type)(ctx)


runner.builder_for = lambda export_type: slow_build  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:] or ["worker"]))
