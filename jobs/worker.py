"""The worker process: RQ's forking `Worker`, with a grace period on SIGTERM.

On SIGTERM (a deploy, a scale-down) RQ stops taking jobs and waits for the one in hand
(warm shutdown). The work horse ignores SIGTERM itself, so a signal sent to the whole
process group cannot kill a job mid-upload. If the job has not finished after
EXPORT_SHUTDOWN_GRACE_S, it is asked to stop at its next checkpoint and fails with a
sentence saying so, rather than being killed with nothing said.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from rq import Worker

from jobs.progress import CANCEL_PREFIX

logger = logging.getLogger(__name__)


class ExportWorker(Worker):
    shutdown_grace_s: float = 25.0

    def setup_work_horse_signals(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def request_stop(self, signum: int, frame: FrameType | None) -> Any:
        job_id = self.get_current_job_id()
        if job_id:
            timer = threading.Timer(self.shutdown_grace_s, self._grace_expired, args=(job_id,))
            timer.daemon = True
            timer.start()
        return super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def _grace_expired(self, job_id: str) -> None:
        if self.get_current_job_id() != job_id:
            return
        sentence = (
            f"the worker was shut down and the export did not finish within the "
            f"{self.shutdown_grace_s:g} s grace period (EXPORT_SHUTDOWN_GRACE_S); "
            "nothing was uploaded"
        )
        logger.warning("job %s: %s", job_id, sentence)
        self.connection.set(CANCEL_PREFIX + job_id, sentence, ex=3600)
