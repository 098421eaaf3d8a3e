"""``tracereel delete TRACE_ID``: remove a trace from the collector's store everywhere (a data-subject request)."""

from __future__ import annotations

import click

from tracereel.cli._errors import ask_collector
from tracereel.cli._traces import collector_option

__all__ = ["command"]


@click.command("delete")
@click.argument("trace_id")
@collector_option
def command(trace_id: str, collector: str) -> None:
    """Delete TRACE_ID: its spans, its trace-id lookup row and its rollup rows, so metrics no longer count it.

    Needs the collector's API key (TRACEREEL_API_KEY) when it has one. An unknown or malformed id
    is one line and exit 2.
    """
    answer = ask_collector(collector, lambda api: api.delete_trace(trace_id))
    click.echo(f"deleted trace {answer.trace_id} ({answer.deleted_spans} spans) from {collector}")
