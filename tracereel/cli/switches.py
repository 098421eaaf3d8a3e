"""``tracereel switches``: the kill switches in force, with their reason, who flipped them and when."""

from __future__ import annotations

import json

import click

from tracereel.cli._switches import describe, switch_call
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient

__all__ = ["command"]


@click.command("switches")
@click.option("--json", "as_json", is_flag=True, help='Print {"version", "switches": [...]} as JSON.')
@collector_option
def command(as_json: bool, collector: str) -> None:
    """List the killed agents this key can see (its team's and every team's switches)."""
    client = CollectorClient(collector)
    answer = switch_call(client.switches)
    if as_json:
        click.echo(json.dumps(answer.model_dump(mode="json"), indent=2))
        return
    switches = answer.switches
    if not switches:
        click.echo("no agent is killed")
        return
    for switch in switches:
        by = switch.key_id or "the collector's key"
        click.echo(f"{describe(switch)}  killed {switch.changed_at} by {by}: {switch.reason}")
