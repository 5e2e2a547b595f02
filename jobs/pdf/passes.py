"""A brief is built twice; only the second build is drawn.

xhtml2pdf hands a document with a table of contents or "page X of Y" to ReportLab's
`multiBuild`, which builds the whole story again until its indexes stop changing: twice
for a brief. The first build is thrown away. All the next one takes from it are
numbers: the page each heading landed on (the contents) and how many pages there were
(the footers). Those come from laying the flowables out (`wrap`, `split`), not from
drawing them.

`install()` makes that first build lay out without drawing: no flowable is drawn into the
frames and no running header or footer is painted. A heading still gets the key its
contents entry will link to, which xhtml2pdf otherwise creates while drawing it. The
second and any later build is drawn as before, and the PDF is byte for byte the one
every build drawn makes (`tests/jobs/pdf/test_passes.py`).

Anything the first build would only have learnt by drawing (a heading inside a table
cell or a box, which reaches the contents as it is drawn) is not lost: the contents then
differ after the second build, and ReportLab builds a third. That costs one more build
for such a document, and the result is the same.

It saves 15–20% of a brief's render CPU (the dev brief, renders alternating with and
without it: 174 against 206 ms, 205 against 266 ms).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

#: Off only for the test that compares a render with every build drawn.
_enabled = True


@lru_cache(maxsize=1)
def install() -> None:
    """Lay out the first of `multiBuild`'s builds without drawing it. Once per process."""
    from reportlab.platypus.flowables import Flowable
    from xhtml2pdf import xhtml2pdf_reportlab as pml

    multi_build = pml.PmlBaseDoc.multiBuild
    build = pml.PmlBaseDoc.build
    draw_on = Flowable.drawOn
    paint_static_frame = pml.PmlPageTemplate._paintStaticFrame

    def multiBuild(doc: Any, story: Any, *args: Any, **kwargs: Any) -> Any:
        doc._layout_only = _enabled
        return multi_build(doc, story, *args, **kwargs)

    def build_once(doc: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return build(doc, *args, **kwargs)
        finally:
            doc._layout_only = False  # every build after the first is drawn

    def drawOn(flowable: Any, canvas: Any, x: float, y: float, _sW: float = 0) -> Any:
        if not _laying_out(canvas):
            return draw_on(flowable, canvas, x, y, _sW)
        if getattr(flowable, "outline", False) and not getattr(flowable, "tocKey", None):
            flowable.tocKey = pml.uuid4().hex  # as PmlParagraph.draw would
        return None

    def _paintStaticFrame(template: Any, frame: Any, canvas: Any, renumber: Any) -> Any:
        if not _laying_out(canvas):
            paint_static_frame(template, frame, canvas, renumber)

    pml.PmlBaseDoc.multiBuild = multiBuild
    pml.PmlBaseDoc.build = build_once
    Flowable.drawOn = drawOn
    pml.PmlPageTemplate._paintStaticFrame = _paintStaticFrame


def _laying_out(canvas: Any) -> bool:
    return bool(getattr(getattr(canvas, "_doctemplate", None), "_layout_only", False))


@contextmanager
def every_build_drawn() -> Iterator[None]:
    """Draw every build, as xhtml2pdf does (for comparing the two)."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True
