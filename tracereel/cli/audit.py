"""``tracereel audit``: the collector's audit log of admin actions (an admin key in TRACEREEL_API_KEY)."""

from __future__ import annotations

import json

import click

from tracereel.cli._traces import CannotRun, collector_option

__all__ = ["command"]


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Newest N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@collector_option
def command(limit: int, as_json: bool, collector: str) -> None:
    """List admin actions, newest first: keys created and revoked, data deleted, switches flipped."""
    from tracereel.client import CollectorClient, CollectorError

    try:
        entries = CollectorClient(collector).audit(limit=limit)
    except CollectorError as exc:
        raise CannotRun(str(exc)) from None
    if as_json:
        click.echo(json.dumps(entries))
        return
    if not entries:
        click.echo("no admin actions recorded")
        return
    for e in entries:
        detail = f"  ({e['detail']})" if e["detail"] else ""
        click.echo(f"{e['time']}  {e['key_id'] or '(auth off)'}  {e['action']}  {e['target']}{detail}")
