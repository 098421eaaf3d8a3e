"""``tracereel revive AGENT``: lift a kill switch (the same options it was killed with)."""

from __future__ import annotations

import click

from tracereel.cli._switches import describe, selector_options, switch_call
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient

__all__ = ["command"]


@click.command("revive")
@click.argument("agent")
@selector_options
@collector_option
def command(agent: str, version: str, service: str, team: str, collector: str) -> None:
    """Revive AGENT, killed with `tracereel kill` and these same options. Needs an admin key.

    A switch that is not in force is one line and exit 2 (`tracereel switches` lists them).
    """
    client = CollectorClient(collector)
    switch = switch_call(lambda: client.revive(agent, version=version, service=service, team=team))
    click.echo(f"revived {describe(switch)}")
