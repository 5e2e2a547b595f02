"""A real forking worker, warmed like `export-service worker`, that drains the queue once.

Run as `python -m tests.jobs.warm_worker`. Its builder first notes, in Redis, whether the
work horse started warm (xhtml2pdf imported, the brief's fonts registered), and kills its
own work horse when the job's params say `crash`, to show a crash stays in the horse.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from redis import Redis
from rq import Queue

from app.settings import load_settings
from jobs import preload, runner, runtime
from jobs.queue import worker_queue_names
from jobs.worker import ExportWorker

real_builder_for = runner.builder_for


def observing_builder_for(export_type: Any) -> Any:
    build = real_builder_for(export_type)

    def observed(ctx: Any) -> Any:
        from reportlab.pdfbase.pdfmetrics import getRegisteredFontNames

        seen = {
            "xhtml2pdf": "xhtml2pdf.pisa" in sys.modules,
            "fonts": sorted(n for n in getRegisteredFontNames() if n.startswith("brief")),
            "pid": os.getpid(),
        }
        ctx.progress.runtime.redis.set(f"warm-check:{ctx.job.job_id}", json.dumps(seen))
        if ctx.job.params.get("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return build(ctx)

    return observed


runner.builder_for = observing_builder_for  # type: ignore[assignment]

if __name__ == "__main__":
    settings = load_settings()
    redis = Redis.from_url(settings.redis_url or "")
    runtime.install(runtime.build(settings, redis))
    preload.warm(settings)
    queues = [Queue(name, connection=redis) for name in worker_queue_names(settings)]
    worker = ExportWorker(queues, connection=redis)
    worker.work(burst=True)
    print(json.dumps({"worker_pid": os.getpid()}))
