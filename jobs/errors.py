"""Why an export stopped, as exceptions a job raises; each message is a sentence for people.

::

    ExportError                 the export failed for a reason a person can act on → `failed`
     └── ExportInterrupted      the export was stopped at a checkpoint before it finished
          ├── ExportCancelled   a person cancelled it                            → `cancelled`
          └── WorkerStopping    the worker shut down and the grace period ended  → `failed`

The runner turns every one into the job's final status and its `error` sentence; anything
else is an internal error, logged with its traceback under the job id.
"""

from __future__ import annotations

from jobs.state import JobStatus


class ExportError(Exception):
    """An export failed for a reason a person can act on; the message says which."""


class ExportInterrupted(ExportError):
    """The export was asked to stop and did, at its next checkpoint."""

    status = JobStatus.FAILED


class ExportCancelled(ExportInterrupted):
    """Someone cancelled the export; the message says who."""

    status = JobStatus.CANCELLED


class WorkerStopping(ExportInterrupted):
    """The worker is shutting down and the job did not finish in the grace period."""
