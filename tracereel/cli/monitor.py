"""``tracereel monitor add|list|remove|history``: thresholds on agent metrics the collector evaluates and pages on."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tracereel.cli._errors import collector_errors
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient
from tracereel.contracts.monitors import HistoryEntry, MonitorDefinition, MonitorView, MonitorWithState
from tracereel.monitors import (
    FORMATS,
    condition_text,
    format_metric_value,
    format_window,
    metric_problem,
    parse_window,
)

__all__ = ["command"]


def _call(collector: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """``CollectorClient(collector).<method>(...)``; a collector error is one line and exit 2."""
    with collector_errors():
        return getattr(CollectorClient(collector), method)(*args, **kwargs)


@click.group("monitor")
def command() -> None:
    """Monitors: the collector evaluates each one every --monitor-interval seconds and notifies when it fires
    and when it resolves (docs/monitors.md)."""


@command.command("add")
@click.argument("name")
@click.option(
    "--metric",
    required=True,
    help="A metrics API key (e.g. task_success_rate), score.NAME (the mean of a score, e.g. score.helpfulness), "
    "or eval.pass_rate / eval.score.<scorer> with --dataset.",
)
@click.option("--above", type=float, help="Fire when the metric is above this.")
@click.option("--below", type=float, help="Fire when the metric is below this.")
@click.option("--window", default="1h", show_default=True, help="Sliding window: 30m, 1h, 1d, ... (at most 30d).")
@click.option("--agent", help="Only tasks of this root agent (eval metrics: runs of this agent).")
@click.option("--version", help="Only tasks of this agent version (needs --agent).")
@click.option("--service", help="Only tasks of this service.")
@click.option("--dataset", help="The golden set whose eval runs an eval.* metric reads.")
@click.option(
    "--min-tasks",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Judge nothing with fewer tasks in the window (eval metrics: cases in the latest run).",
)
@click.option("--notify", required=True, metavar="URL", help="Where notifications are POSTed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Body format [default: pagerduty for events.pagerduty.com, slack for hooks.slack.com, else webhook].",
)
@click.option("--routing-key", metavar="KEY", help="PagerDuty integration (routing) key; pagerduty format only.")
@collector_option
def add(
    name: str,
    metric: str,
    above: float | None,
    below: float | None,
    window: str,
    agent: str | None,
    version: str | None,
    service: str | None,
    dataset: str | None,
    min_tasks: int,
    notify: str,
    fmt: str | None,
    routing_key: str | None,
    collector: str,
) -> None:
    """Add the monitor NAME (needs an admin key when the collector has keys)."""
    problem = metric_problem(metric, dataset)
    if problem:
        raise click.ClickException(problem)
    if (above is None) == (below is None):
        raise click.ClickException("give exactly one of --above X or --below X")
    try:
        parse_window(window)
    except ValueError as exc:
        raise click.ClickException(f"--window: {exc}") from None
    try:
        # The collector checks the same model again; checked here, a mistake costs no round trip.
        definition = MonitorDefinition.model_validate(
            {
                "name": name,
                "metric": metric,
                "above": above,
                "below": below,
                "window": window,
                "min_tasks": min_tasks,
                "notify": notify,
                "agent": agent or None,
                "version": version or None,
                "service": service or None,
                "dataset": dataset or None,
                "format": fmt or None,
                "routing_key": routing_key or None,
            }
        )
    except ValidationError as exc:
        raise click.ClickException(_problems(exc)) from None
    stored = _call(collector, "add_monitor", definition)
    fires = condition_text(stored.metric, stored.condition, stored.threshold)
    click.echo(
        f"added monitor {stored.name}: fires when {fires} over the last "
        f"{format_window(stored.window_seconds)}; notifies {stored.notify} ({stored.format})"
    )


def _problems(exc: ValidationError) -> str:
    """A definition's problems in one line, each naming its option."""
    out: list[str] = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"--{where.replace('_', '-')}: {message}" if where else message)
    return "; ".join(out)


def _filters(m: MonitorView) -> str:
    named = (("agent", m.agent), ("version", m.version), ("service", m.service), ("dataset", m.dataset))
    return " ".join(f"{k}={v}" for k, v in named if v) or "all"


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the monitors as JSON.")
@collector_option
def list_(as_json: bool, collector: str) -> None:
    """List the monitors with their state and last value."""
    monitors: list[MonitorWithState] = _call(collector, "monitors")
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in monitors], indent=2))
        return
    if not monitors:
        click.echo("no monitors; add one with `tracereel monitor add NAME --metric M --below X --notify URL`")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "state", "value", "fires when", "window", "filters", "min tasks", "notifies"):
        table.add_column(column)
    for m in monitors:
        status = m.status
        table.add_row(
            m.name,
            status.state if status else "not evaluated yet",
            f"{format_metric_value(m.metric, status and status.value)} ({status.tasks if status else 0} tasks)",
            condition_text(m.metric, m.condition, m.threshold),
            format_window(m.window_seconds),
            _filters(m),
            str(m.min_tasks),
            f"{m.format} {m.notify}",
        )
    Console(width=200).print(table)


@command.command("remove")
@click.argument("name")
@collector_option
def remove(name: str, collector: str) -> None:
    """Remove the monitor NAME (needs an admin key when the collector has keys)."""
    _call(collector, "remove_monitor", name)
    click.echo(f"removed monitor {name}")


@command.command("history")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 5000), default=200, show_default=True, help="Newest entries shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@collector_option
def history(name: str, limit: int, as_json: bool, collector: str) -> None:
    """Show the monitor NAME's changes of state and notification attempts, newest first."""
    entries: list[HistoryEntry] = _call(collector, "monitor_history", name, limit=limit)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json", exclude_unset=True) for e in entries], indent=2))
        return
    if not entries:
        click.echo(f"monitor {name} has no history yet (it is evaluated every --monitor-interval seconds)")
        return
    for e in entries:
        if e.kind == "state":
            click.echo(f"{e.time}  state    {e.state} (value {e.value}, {e.tasks} tasks)")
        else:
            status = f" HTTP {e.status_code}" if e.status_code else ""
            error = f": {e.error}" if e.error else ""
            click.echo(f"{e.time}  delivery {e.action} attempt {e.attempt} {e.outcome}{status}{error}")
