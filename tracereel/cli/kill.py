"""``tracereel kill AGENT --reason TEXT``: stop the calls of an agent in every running process, in about a second."""

from __future__ import annotations

import click

from tracereel.cli._switches import describe, selector_options, switch_call
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient

__all__ = ["command"]


@click.command("kill")
@click.argument("agent")
@selector_options
@click.option("--reason", required=True, help="Why (shown to callers in AgentDisabled, and in the audit log).")
@collector_option
def command(agent: str, version: str, service: str, team: str, reason: str, collector: str) -> None:
    """Kill AGENT: calls to it raise tracereel.AgentDisabled (or return its fallback=) without running.

    Needs an admin key (TRACEREEL_API_KEY). Revive it with `tracereel revive` and the same options.
    """
    if not reason.strip():
        raise click.BadParameter("must not be empty", param_hint="--reason")
    client = CollectorClient(collector)
    switch = switch_call(lambda: client.kill(agent, reason=reason, version=version, service=service, team=team))
    click.echo(f"killed {describe(switch)}: {switch.reason}")
