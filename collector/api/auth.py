"""API keys: one FastAPI dependency, given to every router but the open ones when it is included.

With auth on (a key exists in the store, or ``TRACEREEL_ADMIN_KEY`` or the collector's
``TRACEREEL_API_KEY`` is set), a request needs ``Authorization: Bearer <key>``. A missing, a
wrong and a revoked key get the same 401 (with ``WWW-Authenticate: Bearer``), so the answer says
nothing about the key. The key is resolved once per request, from the in-memory
:class:`~tracereel.collector.control.KeyRing` (no store query).

Routers ask who is calling with ``Depends(current_principal)``, demand a role with
``dependencies=[require_role("admin")]``, and narrow reads with :func:`read_scope`.
"""

from __future__ import annotations

from typing import Any, Final, cast

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from tracereel.collector.control import ANONYMOUS, KeyRing, Principal, Role
from tracereel.collector.query import Scope

__all__ = [
    "CHALLENGE",
    "REQUIRE_API_KEY",
    "UNAUTHORIZED",
    "current_principal",
    "key_accepted",
    "principal_for",
    "read_scope",
    "require_api_key",
    "require_role",
    "unauthorized_response",
]

UNAUTHORIZED: Final = "missing or wrong API key (Authorization: Bearer ...)"
# RFC 6750: a 401 names the scheme the client should use.
CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}
_BEARER: Final = "Bearer "
_UNRESOLVED: Final = object()


def _resolve(request: Request) -> Principal | None:
    """Who the request's key stands for: ANONYMOUS with auth off, None for a missing, wrong or revoked key."""
    cached = getattr(request.state, "principal", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cast(Principal | None, cached)
    principal = principal_for(request.app.state.keys, request.headers.get("authorization", ""))
    request.state.principal = principal
    return principal


def principal_for(ring: KeyRing, authorization: str) -> Principal | None:
    """Who an ``Authorization`` value (HTTP header or gRPC metadata) stands for; None if nobody.

    ANONYMOUS with auth off; None for a missing, wrong or revoked key, alike.
    """
    if not ring.auth_on:
        return ANONYMOUS
    return ring.principal(authorization[len(_BEARER) :]) if authorization.startswith(_BEARER) else None


def key_accepted(request: Request) -> bool:
    """Whether ``request`` may use the API: auth is off, or it carries a valid key."""
    return _resolve(request) is not None


async def require_api_key(request: Request) -> None:
    """FastAPI dependency: 401 ``{"detail": ...}`` unless :func:`key_accepted`."""
    await current_principal(request)


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: who the request's key stands for; 401 (the same for a wrong, revoked or missing key)."""
    principal = _resolve(request)
    if principal is None:
        raise HTTPException(401, UNAUTHORIZED, headers=CHALLENGE)
    return principal


def require_role(*roles: Role) -> Any:
    """A dependency that answers 403, naming the key's role, unless the caller holds one of ``roles``."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_role(*roles):
            wanted = " or ".join((*roles, "admin") if "admin" not in roles else roles)
            raise HTTPException(403, f"this key's role is {principal.role}; this needs the {wanted} role")
        return principal

    return Depends(check)


def read_scope(principal: Principal) -> Scope:
    """What ``principal`` may read, as the query layer's :class:`Scope` (admins: everything)."""
    if principal.role == "admin":
        return Scope()
    return Scope(team=principal.team, agents=principal.agents, services=principal.services)


def unauthorized_response() -> JSONResponse:
    """The 401 :func:`require_api_key` answers, for errors raised before any dependency runs."""
    return JSONResponse({"detail": UNAUTHORIZED}, status_code=401, headers=CHALLENGE)


# For include_router(..., dependencies=[REQUIRE_API_KEY]).
REQUIRE_API_KEY: Final[Any] = Depends(current_principal)
