"""Every result gets a name no other export can take, with the readable part in front."""

from __future__ import annotations

from datetime import date

from jobs.result_names import result_filename
from jobs.state import ExportType, JobState

DAY = date(2026, 11, 25)


def job(job_id: str, request: int | str | None = 42) -> JobState:
    return JobState(
        job_id=job_id, type=ExportType.PROJECT_PDF, project_id=17, request_doc_id=request
    )


def test_the_title_and_kind_stay_in_front_and_the_ids_make_it_unique():
    name = result_filename("the-long-night-brief.pdf", job("3f2c1a9b" + "0" * 24), today=DAY)
    assert name == "the-long-night-brief-2026-11-25-r42-3f2c1a9b.pdf"


def test_two_exports_of_one_project_on_one_day_never_share_a_name():
    names = {
        result_filename("p-bundle.tar.gz", job(f"{n:08x}" + "a" * 24, request=n), today=DAY)
        for n in range(50)
    }
    assert len(names) == 50
    assert all(n.endswith(".tar.gz") and n.startswith("p-bundle-2026-11-25-r") for n in names)


def test_a_rerun_of_the_same_request_gets_its_own_name():
    first = result_filename("p-brief.pdf", job("1" * 32), today=DAY)
    again = result_filename("p-brief.pdf", job("2" * 32), today=DAY)
    assert first != again


def test_without_an_export_request_the_whole_job_id_is_used():
    assert result_filename("p-brief.pdf", job("ab" * 16, request=None), today=DAY) == (
        "p-brief-2026-11-25-" + "ab" * 16 + ".pdf"
    )


def test_a_mongo_id_is_kept_and_a_hostile_one_cannot_escape():
    mongo = result_filename("p.pdf", job("c" * 32, request="65f1a2b3c4d5e6f708192a3b"), today=DAY)
    assert mongo == "p-2026-11-25-r65f1a2b3c4d5e6f708192a3b-cccccccc.pdf"
    assert "/" not in result_filename("p.pdf", job("c" * 32, request="../../x"), today=DAY)
