"""Who is asking: the principal a request's key stands for, its role and what it may see.

Plain values, no I/O: the API resolves the key into a :class:`Principal` and asks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = ["ANONYMOUS", "ROLES", "Principal", "Role"]

Role = Literal["ingest", "read", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)


@dataclass(frozen=True)
class Principal:
    """A caller: ``team`` None is every team (admin keys, auth off); empty globs match everything.

    ``key_id`` is the key's public id, for the audit log; never the key itself.
    """

    key_id: str | None
    role: Role
    team: str | None = None
    agents: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    def has_role(self, *roles: Role) -> bool:
        """True if the principal holds one of ``roles``; an admin holds them all."""
        return self.role == "admin" or self.role in roles


# Auth off, or the single shared TRACEREEL_API_KEY: whoever gets in may do everything.
ANONYMOUS: Final = Principal(key_id=None, role="admin")
