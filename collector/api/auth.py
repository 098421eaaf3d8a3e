"""The API key: one FastAPI dependency, given to every router but the open ones when it is included.

With ``TRACEREEL_API_KEY`` set, a request needs ``Authorization: Bearer <key>``. A missing and
a wrong key get the same 401, so the answer says nothing about the key.

Routers ask who is calling with ``Depends(current_principal)``, demand a role with
``dependencies=[require_role("admin")]``, and narrow reads with :func:`read_scope`.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from tracereel.collector.control import ANONYMOUS, Principal, Role
from tracereel.collector.query import Scope
from tracereel.collector.settings import CollectorSettings

__all__ = [
    "REQUIRE_API_KEY",
    "UNAUTHORIZED",
    "current_principal",
    "key_accepted",
    "read_scope",
    "require_api_key",
    "require_role",
    "unauthorized_response",
]

UNAUTHORIZED: Final = "missing or wrong API key (Authorization: Bearer ...)"


def key_accepted(request: Request) -> bool:
    """Whether ``request`` may use the API: no key is configured, or it carries the key."""
    settings: CollectorSettings = request.app.state.settings
    if settings.api_key is None:
        return True
    expected = f"Bearer {settings.api_key.get_secret_value()}"
    given = request.headers.get("authorization", "")
    # Constant time, so response timing does not reveal how much of a guess was right.
    return secrets.compare_digest(given.encode(), expected.encode())


async def require_api_key(request: Request) -> None:
    """FastAPI dependency: 401 ``{"detail": ...}`` unless :func:`key_accepted`."""
    if not key_accepted(request):
        raise HTTPException(401, UNAUTHORIZED)


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: who the request's key stands for (401 like :func:`require_api_key` if none)."""
    if not key_accepted(request):
        raise HTTPException(401, UNAUTHORIZED)
    # One shared key (or none): whoever holds it may do everything.
    return ANONYMOUS


def require_role(*roles: Role) -> Any:
    """A dependency that answers 403, naming the key's role, unless the caller holds one of ``roles``."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_role(*roles):
            wanted = " or ".join(roles)
            raise HTTPException(403, f"this key's role is {principal.role}; this needs a {wanted} key")
        return principal

    return Depends(check)


def read_scope(principal: Principal) -> Scope:
    """What ``principal`` may read, as the query layer's :class:`Scope` (admins: everything)."""
    if principal.role == "admin":
        return Scope()
    return Scope(team=principal.team, agents=principal.agents, services=principal.services)


def unauthorized_response() -> JSONResponse:
    """The 401 :func:`require_api_key` answers, for errors raised before any dependency runs."""
    return JSONResponse({"detail": UNAUTHORIZED}, status_code=401)


# For include_router(..., dependencies=[REQUIRE_API_KEY]).
REQUIRE_API_KEY: Final[Any] = Depends(require_api_key)
