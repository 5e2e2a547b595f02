"""The one walk over Payload's Lexical trees that the HTML and Markdown renderers share.

    walk = Walk(modes={"block": BLOCK, "inline": INLINE}, data=image_src)
    html = walk.visit(node, "block")

A renderer describes itself as *modes* (block, inline): per node type a handler, a
handler for every other type, and what a node becomes when it sits deeper than
`max_depth` (its text, found without recursion). A handler renders a node and calls
`walk.visit(child, mode)` for its children with the `Walk` it was given, which is one
level deeper: every descent goes through `visit`, so the depth guard sits here once and
no document — however hostile, lists within lists included — can exhaust the stack.

`children` and `node_text` are the two reads every renderer needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

Node = Mapping[str, Any]
T = TypeVar("T")
D = TypeVar("D")

#: Lexical nesting deeper than this is rendered as its text (a guard against hostile
#: documents; the default editor nests a few levels, lists within lists a few more).
MAX_DEPTH = 40


@dataclass(frozen=True)
class Mode(Generic[T, D]):
    """How a renderer handles nodes in one position (block or inline)."""

    handlers: Mapping[str, Handler[T, D]]
    otherwise: Handler[T, D]
    too_deep: Callable[[Node], T]


@dataclass(frozen=True)
class Walk(Generic[T, D]):
    """A position in the walk: the renderer's modes, its data and the depth reached."""

    modes: Mapping[str, Mode[T, D]]
    data: D
    depth: int = 0
    max_depth: int = MAX_DEPTH

    def visit(self, node: Node, mode: str) -> T:
        """Render `node` in `mode` with its handler, one level deeper; flat past the limit."""
        table = self.modes[mode]
        if self.depth >= self.max_depth:
            return table.too_deep(node)
        handler = table.handlers.get(str(node.get("type")), table.otherwise)
        return handler(node, self.deeper())

    def deeper(self) -> Walk[T, D]:
        return replace(self, depth=self.depth + 1)


Handler = Callable[[Node, Walk[T, D]], T]


def children(node: Node) -> list[Node]:
    """A node's child nodes; anything in `children` that is not a node is skipped."""
    kids = node.get("children")
    return [k for k in kids if isinstance(k, Mapping)] if isinstance(kids, list) else []


def node_text(
    node: Node,
    *,
    linebreak: str = " ",
    tab: str | None = None,
    gap_after: Callable[[Node], bool] = lambda _node: False,
    fields_text: Callable[[Mapping[str, Any]], str] | None = None,
) -> str:
    """Every string a node holds, without formatting: a loop, so nesting cannot exhaust it.

    `tab` replaces tab nodes (None: they hold nothing); a node for which `gap_after` is
    true is kept apart from the next by a space; `fields_text` reads a Payload block's
    `fields` when the node has neither text nor children.
    """
    out: list[str] = []
    stack: list[Node | None] = [node]  # None: a gap between blocks
    while stack:
        current = stack.pop()
        if current is None:
            if out and not out[-1].endswith(" "):
                out.append(" ")
            continue
        kind = current.get("type")
        if kind == "linebreak":
            out.append(linebreak)
        elif kind == "tab" and tab is not None:
            out.append(tab)
        elif isinstance(current.get("text"), str):
            out.append(str(current["text"]))
        elif kids := children(current):
            for child in reversed(kids):
                stack.append(child)
                if gap_after(child):
                    stack.append(None)
        elif fields_text is not None and isinstance(current.get("fields"), Mapping):
            out.append(fields_text(current["fields"]))
    return "".join(out)
