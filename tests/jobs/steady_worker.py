"""A real worker process whose exports take a few seconds and succeed, for failover tests.

Run as `python -m tests.jobs.steady_worker [worker options]`: it swaps the export builder
for one that reports progress (a Redis write) every 0.1 s for STEADY_STEPS steps, then
writes a small PDF, and runs `export-service worker`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from app.cli import main as cli
from jobs import runner
from jobs.context import Artifact

STEPS = int(os.environ.get("STEADY_STEPS", "80"))


def steady_build(ctx: Any) -> Artifact:
    for step in range(STEPS):
        ctx.progress.report("steady work", int(step * 80 / STEPS))
        time.sleep(0.1)
    path = ctx.workdir / "steady.pdf"
    path.write_bytes(b"%PDF-1.4\n% steady export\n%%EOF\n")
    return Artifact(path=path, filename="steady-brief.pdf", mime_type="application/pdf")


def unique_dependencies(ctx: Any) -> dict[str, Any]:
    return {"job": ctx.job.job_id}  # never the same as another job's: nothing is reused


runner.builder_for = lambda export_type: steady_build  # type: ignore[assignment]
runner.dependencies_for = lambda export_type: unique_dependencies  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli.main(["worker", *sys.argv[1:]]))
