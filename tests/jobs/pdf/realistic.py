"""A realistic project for the brief, in two locales and as a draft (issue 15).

Cover image, a screenplay, a treatment, notes, a long table, Greek, Japanese, Hebrew and
Arabic text; `brief_data("de", draft=True)` gives the German draft. `scripts/brief-pngs`
renders it so anyone can look at every page.
"""

from __future__ import annotations

import copy
from typing import Any

from jobs.pdf.brief import BriefData
from tests.fixtures.brief import EXPORTED_AT, HERE, SERVICE_VERSION, load_json
from tests.records import project_record, script_records


def text(value: str, fmt: int = 0) -> dict[str, Any]:
    return {"type": "text", "text": value, "format": fmt, "version": 1}


def para(*parts: str) -> dict[str, Any]:
    return {"type": "paragraph", "version": 1, "children": [text(p) for p in parts]}


def heading(value: str, tag: str = "h1") -> dict[str, Any]:
    return {"type": "heading", "tag": tag, "version": 1, "children": [text(value)]}


def lexical(*children: dict[str, Any]) -> dict[str, Any]:
    return {"root": {"type": "root", "version": 1, "children": list(children)}}


def table(rows: list[list[str]]) -> dict[str, Any]:
    def cell(value: str, header: bool) -> dict[str, Any]:
        return {"type": "tablecell", "headerState": 1 if header else 0, "children": [para(value)]}

    return {
        "type": "table",
        "children": [
            {"type": "tablerow", "children": [cell(v, i == 0) for v in row]}
            for i, row in enumerate(rows)
        ],
    }


SCREENPLAY = {
    "en": [
        "INT. LAMP ROOM — NIGHT",
        "The lens turns. MARA (60s) watches the dark water.",
        "MARA: Who are you talking to?",
        "The light pulses twice.",
        "MARA",
        "(quietly)",
        "Not tonight.",
        "CUT TO:",
        "EXT. CLIFF PATH — DAWN",
        "Mara walks down to the jetty. A fisherman, TOMÁS, waits by the boats.",
        "TOMÁS",
        "You were up all night again.",
    ],
    "de": [
        "INNEN. LAMPENRAUM — NACHT",
        "Die Linse dreht sich. MARA (60) blickt auf das dunkle Wasser.",
        "MARA: Mit wem sprichst du?",
        "Das Licht pulsiert zweimal.",
        "MARA",
        "(leise)",
        "Nicht heute Nacht.",
    ],
}
TITLES = {
    "en": ("The Lighthouse Keeper", "Pilot — Teaser", "Series Treatment", "Production notes"),
    "de": ("Der Leuchtturmwärter", "Pilot — Prolog", "Serienkonzept", "Produktionsnotizen"),
}
DRAFT_LINE = "MARA: I hear you. I have always heard you."


def project_doc(locale: str, draft: bool) -> dict[str, Any]:
    doc = copy.deepcopy(load_json("project.json"))
    doc["title"] = TITLES[locale][0]
    if locale == "de":
        doc["logline"] = (
            "Eine trauernde Archivarin erbt einen Leuchtturm, "
            "dessen Logbuch das Morgen aufzeichnet."
        )
    doc["team"] = [
        {"id": "t1", "name": "Ines Alvarez", "role": "Writer"},
        {"id": "t2", "name": "Jonas Berg", "role": "Director"},
        {"id": "t3", "name": "Yuki Tanaka", "role": "Producer"},
    ]
    doc["editors"] = [2, 3]  # users, by id (depth 0): never shown
    doc["premiere"] = "2026-03-01T09:00:00.000Z"
    doc["_status"] = "draft" if draft else "published"
    return doc


def script_docs(locale: str, draft: bool) -> list[dict[str, Any]]:
    title = TITLES[locale]
    fixture = {d["kind"]: d for d in load_json("scripts.json")["docs"]}
    lines = SCREENPLAY[locale] + ([DRAFT_LINE] if draft else [])
    long_rows = [["Scene", "Location", "Pages", "Cast"]] + [
        [str(n), f"Location {n}", f"{n}–{n + 1}", "Mara, Tomás"] for n in range(1, 61)
    ]
    status = "draft" if draft else "published"
    base = {
        "project": 1,
        "createdAt": "2025-10-01T10:00:00.000Z",
        "updatedAt": "2025-11-20T10:00:00.000Z",
        "_status": status,
    }
    return [
        {**base, "id": 11, "order": 1, "kind": "script", "title": title[1],
         "body": lexical(heading(title[1]), *(para(line) for line in lines))},
        {**base, "id": 12, "order": 2, "kind": "treatment", "title": title[2],
         "body": lexical(heading(title[2]), para("Season one follows the signal."),
                         table(long_rows))},
        {**base, "id": 13, "order": 3, "kind": "notes", "title": title[3],
         "body": lexical(para("Location scout: Ἡ Ἑλένη — Greek island, ferry at 06:40."),
                         para("撮影は三月に始まります。"),
                         para("שלום עולם — יומן המגדלור."),
                         para("مرحبا بالعالم — الحارس يكتب في الدفتر."))},
        {**fixture["script"], "id": 14, "order": 4, "_status": status},
        {**fixture["story"], "id": 15, "order": 5, "_status": status},
    ]  # fmt: skip


def brief_data(locale: str = "en", *, draft: bool = False) -> BriefData:
    project = project_record(project_doc(locale, draft))
    images = {p.stem: p for p in sorted((HERE / "images").iterdir())}
    return BriefData(
        project=project,
        scripts=script_records(script_docs(locale, draft), project),
        media=project.own_media(),
        images=images,
        exported_at=EXPORTED_AT,
        service_version=SERVICE_VERSION,
        locale=locale,
        draft=draft,
        export_request_id=42,
    )
