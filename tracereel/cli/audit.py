"""``tracereel audit``: the collector's audit log of admin actions (an admin key in TRACEREEL_API_KEY)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tracereel.cli._traces import ask_collector, collector_option, echo_rows

if TYPE_CHECKING:
    from tracereel.contracts.audit import AuditEntry

__all__ = ["command"]


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Newest N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@collector_option
def command(limit: int, as_json: bool, collector: str) -> None:
    """List admin actions, newest first: keys created and revoked, data deleted, switches flipped."""
    entries = ask_collector(collector, lambda api: api.audit(limit=limit))
    echo_rows(entries, as_json, "no admin actions recorded", _line)


def _line(e: AuditEntry) -> str:
    detail = f"  ({e.detail})" if e.detail else ""
    return f"{e.time}  {e.key_id or '(auth off)'}  {e.action}  {e.target}{detail}"
