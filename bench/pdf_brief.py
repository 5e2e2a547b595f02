"""Benchmark the PDF brief: ``python bench/pdf_brief.py`` (from the repository root).

    .venv/bin/python bench/pdf_brief.py            # 10/50/200 sections, 0/20 images, minutes
    .venv/bin/python bench/pdf_brief.py --quick    # 10 sections, 0/2 images, one run, ~15 s

For briefs of 10, 50 and 200 script chapters ("sections") with 0 and 20 images it
measures, each in a fresh subprocess so peak RSS belongs to that case alone:

* ours      -- jobs.pdf.brief.render_brief, everything included (Jinja, rich text,
               image downscaling, fonts, xhtml2pdf, page count);
* xhtml2pdf -- xhtml2pdf alone on the same final HTML with the images already
               downscaled: the floor, so ours/xhtml2pdf is our overhead;
* weasyprint -- WeasyPrint on the same HTML, when it is importable (it ignores
               xhtml2pdf's @frame/pdf: tags, so its page count differs).

Times are the median of RUNS renders after one warm-up render. Each row prints
ours/xhtml2pdf beside its target (RATIO_TARGET, 1.3x) and the page counts; time should
grow linearly in sections (ms per section is printed at the end).

Exits 1 when a correctness condition fails: ours or xhtml2pdf errors, a PDF does not parse
with pypdf, ours has more than PAGE_TOLERANCE pages more or fewer than xhtml2pdf's render
of the same HTML, or the project title is not in page 1's text. A ratio over the target is
printed MISSED but does not change the exit code: it is a performance figure on a shared,
noisy machine, read by a person, not a gate. WeasyPrint is only a comparison: its failure
is printed, not fatal.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS = (10, 50, 200)
IMAGES = (0, 20)
RUNS = 3
QUICK_SECTIONS = (10,)
QUICK_IMAGES = (0, 2)
T = TypeVar("T")
ENGINES = ("ours", "xhtml2pdf", "weasyprint")
#: ours/xhtml2pdf at or under this is "ok", over it "MISSED" (printed; not an exit code).
RATIO_TARGET = 1.3
#: Pages ours may differ from xhtml2pdf's render of the same HTML (page furniture, a cover).
PAGE_TOLERANCE = 2
#: make_data's project title, which page 1 (the cover) must carry as text.
TITLE = "Benchmark project"


# --------------------------------------------------------------------------- #
# Synthetic data shaped like Payload's
# --------------------------------------------------------------------------- #


def _text(value: str, fmt: int = 0) -> dict[str, Any]:
    return {"type": "text", "text": value, "format": fmt, "version": 1}


def _para(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "children": list(children), "version": 1}


def _body(n: int) -> dict[str, Any]:
    sentence = (
        "The keeper climbs the stairs at dusk and writes the weather in the log, "
        "as every keeper before her did, and the log answers in a hand she knows. "
    )
    items = [
        {"type": "listitem", "children": [_text(f"Beat {i} of scene {n}")], "version": 1}
        for i in range(1, 4)
    ]
    return {
        "root": {
            "type": "root",
            "children": [
                {"type": "heading", "tag": "h2", "children": [_text(f"Scene {n}")]},
                _para(_text(sentence * 2), _text("Emphasis here.", 2)),
                _para(_text(sentence), _text("Bold point.", 1), _text(" " + sentence)),
                {"type": "list", "listType": "bullet", "children": items, "version": 1},
                _para(_text(sentence * 3)),
            ],
        }
    }


def make_data(sections: int, images: int, workdir: Path) -> Any:
    """A project with ``sections`` scripts and ``images`` image media (+ a cover)."""
    from PIL import Image

    from cms_client.records import media_from_doc, project_from_doc, script_from_doc
    from jobs.pdf.brief import BriefData

    media: list[dict[str, Any]] = []
    files: dict[str, Path] = {}
    for i in range(images):
        path = workdir / f"photo{i}.jpg"
        Image.new("RGB", (2400, 1600), (20 + i * 9, 80, 160 - i * 5)).save(path, quality=90)
        media.append({"id": i + 1, "filename": path.name, "mimeType": "image/jpeg",
                      "filesize": path.stat().st_size, "width": 2400, "height": 1600,
                      "alt": f"Photo {i}", "url": f"/api/media/file/{path.name}"})  # fmt: skip
        files[str(i + 1)] = path
    media += [{"id": 1000 + i, "filename": f"clip{i}.mp4", "mimeType": "video/mp4",
               "filesize": 10_000_000 * (i + 1), "width": 1920, "height": 1080,
               "duration": 60.0 * i} for i in range(5)]  # fmt: skip
    project = {
        "id": 1, "title": TITLE, "logline": "A project made of many chapters.",
        "summary": _body(0), "coverImage": media[0] if images else None, "media": media,
        "genre": "Drama", "timeline": [{"date": "2025-01-01", "milestone": "Start"}],
    }  # fmt: skip
    scripts = [
        {"id": n, "title": f"Chapter {n}", "kind": "script", "order": n, "body": _body(n)}
        for n in range(1, sections + 1)
    ]
    record = project_from_doc(project, map(media_from_doc, media), media_collection="media")
    script_records = [script_from_doc(s, record, media_collection="media") for s in scripts]
    return BriefData(
        record,
        script_records,
        record.own_media(),
        files,
        datetime(2025, 1, 1, tzinfo=UTC),
        "bench",
    )


# --------------------------------------------------------------------------- #
# One case, in its own process
# --------------------------------------------------------------------------- #


def _time(render: Callable[[], T], runs: int) -> tuple[float, T]:
    """Median seconds of ``runs`` renders, and the warm-up render's result."""
    first = render()  # warm-up: fonts and caches, as in a long-lived worker
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        times.append(time.perf_counter() - start)
    return statistics.median(times), first


def worker(engine: str, sections: int, images: int, runs: int) -> dict[str, Any]:
    """Run one engine on one case; returns timing, the PDF's checks and peak RSS."""
    from jobs.pdf.brief import (
        BriefOptions,
        ImageStore,
        build_html,
        render_brief,
        resolve_template_dirs,
    )

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = make_data(sections, images, tmp)
        options = BriefOptions()
        out = tmp / "brief.pdf"
        if engine == "ours":
            median, _ = _time(lambda: render_brief(data, out, options=options), runs)
            checks = check_pdf(out.read_bytes())
        else:
            dirs = resolve_template_dirs(options.template)
            store = ImageStore(data.images, tmp)
            html = build_html(data, options, dirs, store)
            if engine == "xhtml2pdf":
                median, pdf = _time(lambda: _bare(html, dirs, store), runs)
                checks = check_pdf(pdf)
            else:
                median, pages = _time(lambda: _weasyprint(html, dirs, store), runs)
                checks = {"pages": pages, "title_on_page_1": None}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"median_s": median, "rss_mb": rss_mb, **checks}


def check_pdf(pdf: bytes) -> dict[str, Any]:
    """Parse a PDF with pypdf: its page count and whether page 1 carries TITLE."""
    import io

    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf), strict=True)
        pages = len(reader.pages)
        text = " ".join(reader.pages[0].extract_text().split()) if pages else ""
    except Exception as exc:  # any parse failure is the finding, whatever its class
        return {"parse_error": f"{type(exc).__name__}: {exc}"}
    return {"pages": pages, "title_on_page_1": TITLE in text}


def _bare(html: str, dirs: list[Path], store: Any) -> bytes:
    """The floor: xhtml2pdf, then a page count as ours does, nothing else."""
    from jobs.pdf.brief import count_pages

    pdf = _xhtml2pdf(html, dirs, store)
    count_pages(pdf)
    return pdf


def _xhtml2pdf(html: str, dirs: list[Path], store: Any) -> bytes:
    """Plain xhtml2pdf: same HTML and files, none of our wrapping."""
    import io

    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    from jobs.pdf.brief import LinkCallback

    callback = LinkCallback(dirs, store)
    out = io.BytesIO()
    pisa.CreatePDF(
        html,
        dest=out,
        link_callback=callback,
        resource_policy=ResourceAccessPolicy(base_dir=None, extra_roots=callback.roots),
    )
    return out.getvalue()


def _weasyprint(html: str, dirs: list[Path], store: Any) -> int:
    import weasyprint  # type: ignore[import-not-found]

    from jobs.pdf.brief import LinkCallback

    callback = LinkCallback(dirs, store)

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        path = callback.resolve(url)
        if path is None:
            raise ValueError(f"refused {url}")
        try:  # WeasyPrint >= 66 wants its response object; older ones a dict
            from weasyprint.urls import URLFetcherResponse  # type: ignore[import-not-found]
        except ImportError:
            return {"string": path.read_bytes()}
        return URLFetcherResponse(url, body=path.read_bytes())

    document = weasyprint.HTML(string=html, url_fetcher=fetch).render()
    document.write_pdf()
    return len(document.pages)


# --------------------------------------------------------------------------- #
# The table
# --------------------------------------------------------------------------- #


def _weasy_available() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import weasyprint"], capture_output=True, check=False
    )
    return probe.returncode == 0


def run_case(engine: str, sections: int, images: int, runs: int) -> dict[str, Any]:
    """One engine and case in a fresh interpreter; ``{"error": ...}`` if it failed."""
    cmd = [sys.executable, __file__, "--worker", engine, str(sections), str(images), str(runs)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
        return {"error": lines[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def failures(res: dict[str, dict[str, Any]]) -> list[str]:
    """The correctness conditions one case broke; empty when it is sound."""
    found = []
    for engine in ("ours", "xhtml2pdf"):
        r = res[engine]
        if "error" in r:
            found.append(f"{engine} render failed: {r['error']}")
        elif "parse_error" in r:
            found.append(f"{engine} PDF does not parse with pypdf: {r['parse_error']}")
        elif not r["title_on_page_1"]:
            found.append(f"{engine} page 1 lacks the title {TITLE!r}")
    ours, base = res["ours"].get("pages"), res["xhtml2pdf"].get("pages")
    if ours is not None and base is not None and abs(ours - base) > PAGE_TOLERANCE:
        found.append(f"ours has {ours} pages, xhtml2pdf {base} (tolerance {PAGE_TOLERANCE})")
    return found


def _figure(r: dict[str, Any] | None, key: str, spec: str, skipped: str = "skipped") -> str:
    if r is None:
        return skipped
    return "error" if key not in r else format(r[key], spec)


def _row(sections: int, images: int, res: dict[str, dict[str, Any]], broken: list[str]) -> str:
    ours, base, wp = res["ours"], res["xhtml2pdf"], res.get("weasyprint")
    if "median_s" in ours and "median_s" in base:
        ratio = ours["median_s"] / base["median_s"]
        verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
        speed = f"{ratio:.2f}x | <= {RATIO_TARGET}x {verdict}"
    else:
        speed = f"- | <= {RATIO_TARGET}x -"
    pages = "/".join(_figure(r, "pages", "d", "-") for r in (ours, base, wp))
    return (
        f"| {sections} | {images} | {_figure(ours, 'median_s', '.2f')} "
        f"| {_figure(base, 'median_s', '.2f')} | {speed} | {pages} "
        f"| {_figure(wp, 'median_s', '.2f')} | {_figure(ours, 'rss_mb', '.0f')} "
        f"| {_figure(base, 'rss_mb', '.0f')} | {'ok' if not broken else 'FAILED'} |"
    )


def main(*, quick: bool = False) -> int:
    """Run every case, print the table; 1 when a correctness condition failed."""
    sections_list, images_list = (QUICK_SECTIONS, QUICK_IMAGES) if quick else (SECTIONS, IMAGES)
    runs = 1 if quick else RUNS
    engines = [e for e in ENGINES if e != "weasyprint" or _weasy_available()]
    print(f"python {sys.version.split()[0]}, median of {runs} runs after a warm-up; "
          f"one subprocess per engine and case")  # fmt: skip
    if "weasyprint" not in engines:
        print("WeasyPrint is not importable here: its column is skipped.")
    print(
        "| sections | images | ours s | xhtml2pdf s | ours/xhtml2pdf | target "
        "| pages ours/xhtml2pdf/wp | weasyprint s | RSS ours MB | RSS xhtml2pdf MB | checks |"
    )
    print("|---" * 11 + "|")
    per_section: dict[int, list[float]] = {}
    broken: list[str] = []
    notes: list[str] = []
    for images in images_list:
        for sections in sections_list:
            res = {e: run_case(e, sections, images, runs) for e in engines}
            if "error" in res.get("weasyprint", {}):
                notes.append(f"{sections}/{images}: {res['weasyprint']['error']}")
            if "median_s" in res["ours"]:
                per_section.setdefault(images, []).append(res["ours"]["median_s"] / sections)
            case = failures(res)
            broken += [f"{sections} sections, {images} images: {f}" for f in case]
            print(_row(sections, images, res, case))
    for images, costs in per_section.items():
        ms = ", ".join(f"{c * 1000:.1f}" for c in costs)
        print(f"ms per section with {images} images, for {sections_list}: {ms}")
    for line in notes:
        print(f"weasyprint failed (a comparison only, not fatal) at {line}")
    for line in broken:
        print(f"FAILED {line}")
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 sections, 0/2 images, one run")
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "SECTIONS", "IMAGES", "RUNS"))
    args = parser.parse_args()
    if args.worker:
        engine, sections, images, runs = args.worker
        print(json.dumps(worker(engine, int(sections), int(images), int(runs))))
    else:
        sys.exit(main(quick=args.quick))
