"""Benchmark the PDF brief: ``python bench/pdf_brief.py`` (from the repository root).

For briefs of 10, 50 and 200 script chapters ("sections") with 0 and 20 images it
measures, each in a fresh subprocess so peak RSS belongs to that case alone:

* ours      -- jobs.pdf.brief.render_brief, everything included (Jinja, rich text,
               image downscaling, fonts, xhtml2pdf, page count);
* xhtml2pdf -- xhtml2pdf alone on the same final HTML with the images already
               downscaled: the floor, so ours/xhtml2pdf is our overhead;
* weasyprint -- WeasyPrint on the same HTML, when it is importable (it ignores
               xhtml2pdf's @frame/pdf: tags, so its page count differs).

Times are the median of RUNS renders after one warm-up render. Target: ours within
1.3x of xhtml2pdf, and time linear in sections.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS = (10, 50, 200)
IMAGES = (0, 20)
RUNS = 3
ENGINES = ("ours", "xhtml2pdf", "weasyprint")


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
        "id": 1, "title": "Benchmark project", "logline": "A project made of many chapters.",
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


def _time(render: Any) -> tuple[float, int]:
    pages = render()  # warm-up: fonts and caches, as in a long-lived worker
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        render()
        times.append(time.perf_counter() - start)
    return statistics.median(times), pages


def worker(engine: str, sections: int, images: int) -> dict[str, Any]:
    """Run one engine on one case; returns timing, pages and this process's peak RSS."""
    from jobs.pdf.brief import (
        BriefOptions,
        ImageStore,
        build_html,
        count_pages,
        render_brief,
        resolve_template_dirs,
    )

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = make_data(sections, images, tmp)
        options = BriefOptions()
        out = tmp / "brief.pdf"
        if engine == "ours":
            median, pages = _time(lambda: render_brief(data, out, options=options).pages)
        else:
            dirs = resolve_template_dirs(options.template)
            store = ImageStore(data.images, tmp)
            html = build_html(data, options, dirs, store)
            if engine == "xhtml2pdf":
                median, pages = _time(lambda: count_pages(_xhtml2pdf(html, dirs, store)))
            else:
                median, pages = _time(lambda: _weasyprint(html, dirs, store))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"median_s": median, "pages": pages, "rss_mb": rss_mb}


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
            from weasyprint.urls import URLFetcherResponse
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


def run_case(engine: str, sections: int, images: int) -> dict[str, Any]:
    """One engine and case in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--worker", engine, str(sections), str(images)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{engine} {sections}/{images} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(sections: int, images: int, res: dict[str, dict[str, Any]]) -> str:
    ours, base, wp = res["ours"], res["xhtml2pdf"], res.get("weasyprint")
    ratio = ours["median_s"] / base["median_s"]
    wp_time = f"{wp['median_s']:.2f}" if wp else "skipped"
    wp_pages = str(wp["pages"]) if wp else "-"
    return (
        f"| {sections} | {images} | {ours['median_s']:.2f} | {base['median_s']:.2f} "
        f"| {ratio:.2f}x | {wp_time} | {ours['pages']}/{wp_pages} "
        f"| {ours['rss_mb']:.0f} | {base['rss_mb']:.0f} |"
    )


def main() -> None:
    """Run every case and print the table."""
    engines = [e for e in ENGINES if e != "weasyprint" or _weasy_available()]
    print(f"python {sys.version.split()[0]}, median of {RUNS} runs after a warm-up; "
          f"one subprocess per engine and case")  # fmt: skip
    if "weasyprint" not in engines:
        print("WeasyPrint is not importable here: its column is skipped.")
    print(
        "| sections | images | ours s | xhtml2pdf s | ours/xhtml2pdf | weasyprint s "
        "| pages ours/wp | RSS ours MB | RSS xhtml2pdf MB |"
    )
    print("|---" * 9 + "|")
    per_section: dict[int, list[float]] = {}
    for images in IMAGES:
        for sections in SECTIONS:
            res = {e: run_case(e, sections, images) for e in engines}
            per_section.setdefault(images, []).append(res["ours"]["median_s"] / sections)
            print(_row(sections, images, res))
    for images, costs in per_section.items():
        ms = ", ".join(f"{c * 1000:.1f}" for c in costs)
        print(f"ms per section with {images} images, for {SECTIONS}: {ms}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "SECTIONS", "IMAGES"))
    args = parser.parse_args()
    if args.worker:
        engine, sections, images = args.worker
        print(json.dumps(worker(engine, int(sections), int(images))))
    else:
        main()
