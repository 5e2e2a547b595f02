"""The export-requests document as the durable copy of a job: what is written is read back."""

from __future__ import annotations

from jobs.export_requests import state_from_doc, status_fields
from jobs.state import ExportType, JobState, JobStatus


def test_notes_are_kept_one_a_line_and_read_back():
    state = JobState(
        job_id="j1",
        type=ExportType.PROJECT_ZIP,
        project_id=17,
        status=JobStatus.SUCCEEDED,
        notes=["projects has no drafts: exporting the saved version", "second note"],
    )
    fields = status_fields(state)
    assert fields["notes"] == ("projects has no drafts: exporting the saved version\nsecond note")
    doc = {"id": 5, "type": "project-zip", "project": 17, **fields}
    assert state_from_doc(doc).notes == state.notes
    assert state_from_doc({**doc, "notes": None}).notes == []
