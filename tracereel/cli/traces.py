"""``tracereel traces``: the newest traces, to find the id to show, export or replay."""

from __future__ import annotations

import json
import time

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracereel.cli._errors import ask_collector
from tracereel.cli._traces import collector_option
from tracereel.durations import parse_duration
from tracereel.traces import TraceSummary

__all__ = ["command", "mark", "row_cells"]

_COLUMNS = ("trace", "start (UTC)", "agent", "version", "status", "duration", "steps", "tokens in/out", "cost")


def mark(row: TraceSummary) -> str:
    """``replay of ID`` or ``eval RUN`` for a replay or an eval case's run; empty for the agents' own traffic."""
    if replayed := row.get("replay_of"):
        return f"replay of {replayed}"
    if run := row.get("eval_run_id"):
        return f"eval {run}"
    return ""


def _status(row: TraceSummary) -> str:
    # As --status filters: a root that is not ERROR is ok (OpenTelemetry leaves most of them UNSET).
    if row.get("complete") is False:
        return "unfinished"
    return "error" if row.get("status_code") == "ERROR" else "ok"


def row_cells(row: TraceSummary) -> list[str]:
    """The printed cells of one trace, in the order of the table's columns."""
    start = str(row.get("start_time", ""))[:19].replace("T", " ")
    cost = f"${row.get('cost_usd', 0.0):.4f}" if row.get("cost_coverage") is not None else "-"
    return [
        str(row.get("trace_id", "")),
        start,
        str(row.get("agent_name") or "-"),
        str(row.get("agent_version") or "-"),
        _status(row),
        f"{row.get('duration_ms', 0.0) / 1000:.2f}s",
        str(row.get("steps", 0)),
        f"{row.get('input_tokens', 0)}/{row.get('output_tokens', 0)}",
        cost,
    ]


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return time.time() - parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("traces")
@click.option("--agent", metavar="NAME", help="Only tasks of this agent.")
@click.option("--version", "version", metavar="V", help="Only tasks of this agent version.")
@click.option(
    "--status", type=click.Choice(["ok", "error"]), help="Only tasks whose root span ended so (ok: not in error)."
)
@click.option("--since", metavar="DURATION", callback=_since, help="Only tasks started in the last 30m, 1h, 7d, ...")
@click.option(
    "--search",
    metavar="TEXT",
    help="Only tasks whose payloads (inputs, outputs, messages, tool calls) contain every word, any case.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many.")
@click.option(
    "--include-replays",
    is_flag=True,
    help="Also list replays and eval case runs (marked); by default only the agents' own traffic.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the collector's rows as a JSON list.")
@collector_option
def command(
    agent: str | None,
    version: str | None,
    status: str | None,
    since: float | None,
    search: str | None,
    limit: int,
    include_replays: bool,
    as_json: bool,
    collector: str,
) -> None:
    """List the newest traces: id, start, agent, version, status, duration, steps, tokens, cost.

    Replays and eval case runs are left out unless --include-replays. --search finds tasks by what
    they said (each word as literal text, in any span; 1 to 1,000 characters). Exit 2 when the
    collector cannot be asked or refuses the search.
    """
    rows = ask_collector(
        collector,
        lambda api: api.traces(
            agent=agent,
            version=version,
            status=status,
            start=f"{since:.3f}" if since is not None else None,
            limit=limit,
            include_replays="true" if include_replays else None,
            q=search,
        ),
    )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        found = f" matching {search!r}" if search is not None else ""
        click.echo(f"no traces{found}" + ("" if include_replays else " (replays and eval runs: --include-replays)"))
        return
    table = Table(box=None, pad_edge=False, highlight=False)
    for column in _COLUMNS + (("run",) if include_replays else ()):
        table.add_column(column, no_wrap=column == "trace")
    for row in rows:
        cells = row_cells(row) + ([mark(row)] if include_replays else [])
        table.add_row(*(escape(cell) for cell in cells))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped: whole lines, for grep and awk
    console.print(table)
