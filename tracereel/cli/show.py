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
from tracereel.traces import SpanJSON, SpanNode, Trace, build_tree, span_kind
from tracereel.traces import status as span_status

__all__ = ["command", "trace_tree"]

_PAYLOADS = {
    # kind -> (input attribute, output attribute), in order of preference
    "agent": ((sc.AGENT_INPUT,), (sc.AGENT_OUTPUT,)),
    "tool": ((sc.TOOL_CALL_ARGUMENTS,), (sc.TOOL_CALL_RESULT,)),
    "llm": ((sc.LLM_ARGUMENTS, sc.INPUT_MESSAGES), (sc.OUTPUT_MESSAGES,)),
}


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
    inputs, outputs = _PAYLOADS.get(kind, ((), ()))
    shown_in = next((attrs[k] for k in inputs if k in attrs), None)
    shown_out = next((attrs[k] for k in outputs if k in attrs), None)
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
    """A ``rich.tree.Tree`` of the trace; tool and LLM calls carry their ``kind:name#N`` (for --override)."""
    spans = sorted(trace.get("spans") or [], key=lambda s: (int(s.get("start_time_unix_nano") or 0), s["span_id"]))
    numbers: dict[str, str] = {}
    counters: dict[tuple[str, str], int] = {}
    for s in spans:
        attrs = s.get("attributes") or {}
        operation = attrs.get(sc.OPERATION_NAME)
        if operation == sc.OP_EXECUTE_TOOL and sc.TOOL_NAME in attrs:
            key = ("tool", attrs[sc.TOOL_NAME])
        elif operation == sc.OP_CHAT and sc.REQUEST_MODEL in attrs:
            key = ("llm", attrs[sc.REQUEST_MODEL])
        else:
            continue
        counters[key] = counters.get(key, 0) + 1
        numbers[s["span_id"]] = f"{key[0]}:{key[1]}#{counters[key]}"
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
