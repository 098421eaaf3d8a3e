"""A trace's spans as a tree (agents → LLM calls → tools), in the order a person reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SpanNode", "build_tree", "walk"]


@dataclass
class SpanNode:
    """One span and the spans it started, oldest first."""

    span: dict[str, Any]
    depth: int = 0
    children: list[SpanNode] = field(default_factory=list)


def build_tree(spans: list[dict[str, Any]]) -> list[SpanNode]:
    """The root nodes of ``spans``; a span whose parent is missing from the trace becomes a root too."""
    nodes = {s["span_id"]: SpanNode(s) for s in spans}
    roots: list[SpanNode] = []
    for span in spans:
        node = nodes[span["span_id"]]
        parent = nodes.get(span.get("parent_span_id") or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)

    def order(items: list[SpanNode], depth: int) -> None:
        items.sort(key=lambda n: (n.span["start_time_unix_nano"], n.span["span_id"]))
        for item in items:
            item.depth = depth
            order(item.children, depth + 1)

    order(roots, 0)
    return roots


def walk(roots: list[SpanNode]) -> list[SpanNode]:
    """Every node, depth first: each span followed by what it started."""
    out: list[SpanNode] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out
