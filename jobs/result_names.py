"""The file name a finished export is uploaded under: readable in front, unique at the end.

Payload resolves a clash of upload names by trying numbered suffixes one by one and then
inserting, so two workers finishing exports of one project at once race for the same name
("filename: Value must be unique"), and each upload gets slower as a project's exports pile
up. Every result therefore carries its export request's id and its job's (a re-run of a
request is a new job), and Payload never has to rename:

    the-long-night-brief.pdf  →  the-long-night-brief-2026-11-25-r42-3f2c1a9b.pdf
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from jobs import paths
from jobs.state import JobState

#: Of the job id (uuid4 hex): with the request id, enough that two runs never meet.
JOB_ID_CHARS = 8
COMPOUND_EXTENSIONS = (".tar.gz",)


def result_filename(filename: str, job: JobState, *, today: date | None = None) -> str:
    """`filename` (title and kind, as the export named it) + date + ids + extension."""
    stem, extension = split_extension(filename)
    day = (today or datetime.now(UTC).date()).isoformat()
    if job.request_doc_id is not None:
        request = paths.safe_component(str(job.request_doc_id), fallback="request")
        unique = f"r{request}-{job.job_id[:JOB_ID_CHARS]}"
    else:
        unique = job.job_id
    return f"{stem}-{day}-{unique}{extension}"


def split_extension(filename: str) -> tuple[str, str]:
    for compound in COMPOUND_EXTENSIONS:
        if filename.endswith(compound):
            return filename[: -len(compound)], compound
    return paths.split_extension(filename)
