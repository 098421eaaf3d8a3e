"""What ``kill``, ``revive`` and ``switches`` share: the switch selector options and one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tracereel.cli._errors import collector_errors

if TYPE_CHECKING:
    from tracereel.contracts.switches import Switch

__all__ = ["describe", "selector_options", "switch_call"]

T = TypeVar("T")


def selector_options(func: Any) -> Any:
    """``--version``, ``--service`` and ``--team``: narrow a switch (unset: every one)."""
    for option in reversed(
        (
            click.option("--version", "version", default="", metavar="V", help="Only this version [default: every]."),
            click.option("--service", default="", metavar="S", help="Only in this service [default: every]."),
            click.option("--team", default="", metavar="T", help="Only this team's agents [default: every team]."),
        )
    ):
        func = option(func)
    return func


def describe(switch: Switch) -> str:
    """``agent@version on service (team T)``, leaving out what the switch does not narrow."""
    out = switch.agent
    if switch.version:
        out += f"@{switch.version}"
    out += f" on {switch.service}" if switch.service else ""
    out += f" (team {switch.team})" if switch.team else ""
    return out


def switch_call(call: Callable[[], T]) -> T:
    """Run a client call; its failure is one line and exit 2 (a refusal names the key it needs)."""
    with collector_errors(forbidden="flipping a switch needs an admin key in TRACEREEL_API_KEY"):
        return call()
