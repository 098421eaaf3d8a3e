"""``tracereel clusters``: the window's failing tasks, grouped into clusters with stable ids."""

from __future__ import annotations

import json

import click

from tracereel.cli._traces import ask_collector, collector_option

__all__ = ["command"]


@click.command("clusters")
@click.option("--window", default="24h", show_default=True, help="How far back: 90s, 30m, 24h, 7d.")
@click.option("--agent", metavar="A", help="Only the failing tasks of agent A.")
@click.option("--json", "as_json", is_flag=True, help='Print {"clusters": [...]} as JSON.')
@collector_option
def command(window: str, agent: str | None, as_json: bool, collector: str) -> None:
    """List failing tasks grouped by what failed, then by what they said: id, size, trend, signature, terms."""
    clusters = ask_collector(collector, lambda client: client.clusters(window=window, agent=agent))
    if as_json:
        click.echo(json.dumps({"clusters": [c.model_dump(mode="json") for c in clusters]}, indent=2))
        return
    if not clusters:
        click.echo(f"no failing tasks in the last {window}")
        return
    for c in clusters:
        trend = c.size - c.previous_size
        click.echo(
            f"{c.id}  {c.size:>5} ({trend:+d})  {c.signature}  [{', '.join(c.terms)}]  "
            f"agents: {', '.join(c.agents) or '-'}  e.g. {c.examples[0] if c.examples else '-'}"
        )
    click.echo("turn one into golden cases: tracereel dataset add-cluster FILE CLUSTER_ID [--max N]")
