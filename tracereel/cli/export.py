"""``tracereel export``: write a trace to a self-contained file (replayable with ``replay --file``)."""

from __future__ import annotations

import click

from tracereel.cli._traces import CannotRun, collector_option, read_trace
from tracereel.replay import export_trace

__all__ = ["command"]


@click.command("export")
@click.argument("trace_id")
@collector_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write [default: TRACE_ID.json].")
def command(trace_id: str, collector: str, output: str | None) -> None:
    """Export TRACE_ID from the collector as a JSON file to replay later or attach to a bug report."""
    trace = read_trace(trace_id, collector, None)
    target = output or f"{trace['trace_id']}.json"
    try:
        written = export_trace(trace, target, source=collector)
    except OSError as exc:
        raise CannotRun(f"cannot write {target}: {exc.strerror or exc}") from None
    click.echo(f"wrote {written} ({len(trace['spans'])} spans); replay it with: tracereel replay --file {written}")
