"""``tracereel review add-queue|list|remove|items``: traces an expression picks, waiting for a person's verdict."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from tracereel.cli._errors import ask_collector
from tracereel.cli._traces import collector_option

__all__ = ["command"]

_ADMIN = "adding and removing a review queue needs an admin key in TRACEREEL_API_KEY"


@click.group("review")
def command() -> None:
    """Review queues: traces an expression picks (negative feedback, low scores, errors) wait for a
    person's verdict (docs/review.md)."""


@command.command("add-queue")
@click.argument("name")
@click.option(
    "--when",
    "when",
    required=True,
    metavar="EXPR",
    help="Which traces, e.g. 'feedback < 0 or score.groundedness < 0.5' (also status = error, escalated, "
    "guardrail = violation; joined by or / and).",
)
@collector_option
def add_queue(name: str, when: str, collector: str) -> None:
    """Add the review queue NAME (needs an admin key when the collector has keys)."""
    queue = ask_collector(collector, lambda c: c.add_review_queue(name, when), forbidden=_ADMIN)
    click.echo(f"added review queue {queue.name}: traces where {queue.when}")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the queues as JSON.")
@collector_option
def list_(as_json: bool, collector: str) -> None:
    """List the review queues with how many traces wait in each."""
    queues = ask_collector(collector, lambda c: c.review_queues())
    counts = {q.name: len(ask_collector(collector, lambda c, n=q.name: c.review_items(n, limit=1000))) for q in queues}
    if as_json:
        click.echo(json.dumps([{**q.model_dump(mode="json"), "open": counts[q.name]} for q in queues], indent=2))
        return
    if not queues:
        click.echo("no review queues; add one with `tracereel review add-queue NAME --when 'feedback < 0'`")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "open", "when", "team"):
        table.add_column(column)
    for q in queues:
        table.add_row(
            q.name, str(counts[q.name]) + ("+" if counts[q.name] >= 1000 else ""), q.when, q.team or "(every team)"
        )
    Console(width=200).print(table)


@command.command("remove")
@click.argument("name")
@collector_option
def remove(name: str, collector: str) -> None:
    """Remove the review queue NAME (needs an admin key); its verdicts stay, as scores and for add-reviewed."""
    ask_collector(collector, lambda c: c.remove_review_queue(name), forbidden=_ADMIN)
    click.echo(f"removed review queue {name}")


@command.command("items")
@click.argument("name")
@click.option("--done", is_flag=True, help="The reviewed traces, with their verdicts (default: the open ones).")
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON.")
@collector_option
def items(name: str, done: bool, as_json: bool, collector: str) -> None:
    """List the traces in the review queue NAME, newest first, with the clause that put each there."""
    found = ask_collector(collector, lambda c: c.review_items(name, state="done" if done else "open", limit=1000))
    if as_json:
        click.echo(json.dumps([i.model_dump(mode="json") for i in found], indent=2))
        return
    for item in found:
        verdict = f"  {item.verdict}" + (f" expected {json.dumps(item.expected)}" if item.expected is not None else "")
        click.echo(f"{item.trace_id}  {item.time}  {item.reason}{verdict if done else ''}")
    if not found:
        click.echo(f"review queue {name} has no {'reviewed' if done else 'open'} traces")
