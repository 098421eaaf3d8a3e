"""What a reader may see, as SQL: a team and agent/service globs, applied inside every read query.

The API turns the caller's key into a :class:`Scope`; each query ANDs :func:`scope_sql` into its
WHERE, so the filter runs in the store and nothing outside the scope leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["EVERYTHING", "Scope", "glob_to_like", "scope_sql"]


@dataclass(frozen=True)
class Scope:
    """A read filter: ``team`` None sees every team; empty glob tuples match every agent/service."""

    team: str | None = None
    agents: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    @property
    def unrestricted(self) -> bool:
        """True when the scope filters nothing (admin keys, or auth off)."""
        return self.team is None and not self.agents and not self.services


EVERYTHING: Final = Scope()


def glob_to_like(glob: str) -> str:
    """A shell glob (``*``, ``?``) as a SQL LIKE pattern, with LIKE's own ``%``, ``_`` and ``\\`` escaped."""
    out: list[str] = []
    for char in glob:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def scope_sql(
    scope: Scope,
    *,
    team_column: str | None = "Team",
    agent_column: str | None = "AgentName",
    service_column: str | None = "ServiceName",
    name: str = "scope",
) -> tuple[str, dict[str, Any]]:
    """A WHERE condition (``"1"`` if unrestricted) and its parameters, named ``{name}_*``.

    Pass None for a column the table lacks. A table without a team column cannot be scoped by
    team: that raises, so a new read path cannot leak by forgetting the column.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    if scope.team is not None:
        if team_column is None:
            raise ValueError("a team-scoped read needs a team column")
        where.append(f"{team_column} = {{{name}_team:String}}")
        params[f"{name}_team"] = scope.team
    for column, globs, kind in ((agent_column, scope.agents, "agent"), (service_column, scope.services, "service")):
        if not globs:
            continue
        if column is None:
            raise ValueError(f"a read scoped by {kind} globs needs a {kind} column")
        likes: list[str] = []
        for i, glob in enumerate(globs):
            key = f"{name}_{kind}_{i}"
            likes.append(f"{column} LIKE {{{key}:String}}")
            params[key] = glob_to_like(glob)
        where.append("(" + " OR ".join(likes) + ")")
    return (" AND ".join(where) or "1"), params
