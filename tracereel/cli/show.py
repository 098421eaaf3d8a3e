"""``tracereel show``: a trace as a tree in the terminal, with durations, statuses and short payloads."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from tracereel import semconv as sc
from tracereel.cli._traces import collector_option, read_trace
from tracereel.rules import call_addresses, payload
from tracereel.traces import SpanJSON, SpanNode, Trace, build_tree, span_kind
from tracereel.traces import status as span_status

__all__ = ["command", "trace_tree"]


def _short(raw: Any, width: int) -> str:
    text = str(raw).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _label(span: SpanJSON, number: str, width: int) -> str:
    attrs = span.get("attributes") or {}
    kind = span_kind(span)
    status = span_status(span)
    color = {"ERROR": "red", "OK": "green"}.get(status, "dim")
    duration = f"{int(span.get('duration_ns') or 0) / 1e6:.1f} ms"
    parts = [f"[bold]{escape(span.get('name', '?'))}[/]", f"[dim]{kind}[/]"]
    if number:
        parts.append(f"[cyan]{escape(number)}[/]")
    parts += [duration, f"[{color}]{status}[/]"]
    line = "  ".join(parts)
    shown_in, shown_out = payload(span)
    if shown_in is not None:
        line += f"\n[dim]in [/] {escape(_short(shown_in, width))}"
    if status == "ERROR":
        error = f"{attrs.get(sc.ERROR_TYPE) or ''} {span.get('status_message') or ''}".strip()
        line += f"\n[red]err[/] {escape(_short(error, width))}"
    elif shown_out is not None:
        line += f"\n[dim]out[/] {escape(_short(shown_out, width))}"
    if sc.REPLAY_OF in attrs:
        line += f"\n[magenta]replay of {escape(attrs['tracereel.replay.of'])}[/]"
        if attrs.get(sc.REPLAY_DIVERGED_AT):
            line += f" [red]diverged at {escape(attrs['tracereel.replay.diverged_at'])}[/]"
    return line


def trace_tree(trace: Trace, width: int = 100) -> Tree:
    """A ``rich.tree.Tree`` of the trace; the calls replay serves carry their ``kind:name#N`` (for --override)."""
    spans = trace.get("spans") or []
    numbers = call_addresses(spans)
    roots = build_tree(spans)
    title = f"trace {trace.get('trace_id', '?')} ({len(spans)} spans)"
    if any(node.span.get("parent_span_id") for node in roots):
        title += " [yellow]- half-finished: some parent spans never arrived (crashed?)[/]"
    tree = Tree(title)

    def add(branch: Tree, node: SpanNode) -> None:
        child = branch.add(_label(node.span, numbers.get(node.span["span_id"], ""), width))
        for grandchild in node.children:
            add(child, grandchild)

    for root in roots:
        add(tree, root)
    return tree


@click.command("show")
@click.argument("trace_id", required=False)
@collector_option
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Show a trace file from `tracereel export`.")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON instead of a tree.")
@click.option("--width", type=int, default=100, show_default=True, help="Characters of payload to show.")
def command(trace_id: str | None, collector: str, file: str | None, as_json: bool, width: int) -> None:
    """Print TRACE_ID as a tree: spans with durations, statuses and short inputs/outputs."""
    trace = read_trace(trace_id, collector, file)
    if as_json:
        click.echo(json.dumps(trace, indent=2, ensure_ascii=False, default=str))
        return
    Console(soft_wrap=False, highlight=False).print(trace_tree(trace, width))
