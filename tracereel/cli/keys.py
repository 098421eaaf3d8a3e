"""``tracereel keys create|list|revoke``: API keys, through the collector's admin API.

The commands send ``TRACEREEL_API_KEY`` (an admin key: ``TRACEREEL_ADMIN_KEY`` of the collector,
or a key created with ``--role admin``). A key's text is printed once, by ``create``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, get_args

import click

from tracereel.cli._traces import ask_collector, collector_option, echo_rows
from tracereel.contracts.keys import Role

if TYPE_CHECKING:
    from tracereel.contracts.keys import KeyView

__all__ = ["command"]


def _globs(value: str | None) -> list[str]:
    return [glob.strip() for glob in (value or "").split(",") if glob.strip()]


@click.group("keys")
def command() -> None:
    """Create, list and revoke API keys (an admin key in TRACEREEL_API_KEY)."""


@command.command("create")
@click.option("--team", required=True, help="The team the key belongs to.")
@click.option("--role", required=True, type=click.Choice(get_args(Role)), help="What the key may do.")
@click.option("--agents", metavar="GLOB,...", help="Read keys: only these agents (globs, comma-separated).")
@click.option("--services", metavar="GLOB,...", help="Read keys: only these services (globs, comma-separated).")
@click.option("--json", "as_json", is_flag=True, help='Print {"id", "key", "team", "role", "agents", "services"}.')
@collector_option
def create(team: str, role: Role, agents: str | None, services: str | None, as_json: bool, collector: str) -> None:
    """Create a key; its text is shown once and cannot be shown again."""
    made = ask_collector(
        collector, lambda api: api.create_key(team=team, role=role, agents=_globs(agents), services=_globs(services))
    )
    if as_json:
        shown = made.model_dump()
        click.echo(json.dumps({k: shown[k] for k in ("id", "key", "team", "role", "agents", "services")}))
        return
    click.echo(f"created key {made.id} (team {made.team}, role {made.role})")
    click.echo(made.key)
    click.echo("Store it now: it is not shown again.", err=True)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON (never their text).")
@collector_option
def list_(as_json: bool, collector: str) -> None:
    """List every key, revoked ones too (ids, teams, roles, globs; never the keys themselves)."""
    echo_rows(ask_collector(collector, lambda api: api.keys()), as_json, "no keys", _line)


def _line(key: KeyView) -> str:
    scope = " ".join(
        f"{name}={','.join(globs)}" for name, globs in (("agents", key.agents), ("services", key.services)) if globs
    )
    state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
    return f"{key.id}  {key.team:<16} {key.role:<6}  {state}  {scope}".rstrip()


@command.command("revoke")
@click.argument("key_id")
@collector_option
def revoke(key_id: str, collector: str) -> None:
    """Revoke KEY_ID at once (within a few seconds on other collectors sharing the store)."""
    ask_collector(collector, lambda api: api.revoke_key(key_id))
    click.echo(f"revoked key {key_id}")
