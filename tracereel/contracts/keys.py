"""API keys: ``POST /api/v1/keys`` (create), ``GET /api/v1/keys`` (list), ``DELETE /api/v1/keys/{key_id}`` (revoke)."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import Field

from tracereel.contracts import Request, Response

__all__ = ["GLOB_PATTERN", "KEY_ID_PATTERN", "TEAM_PATTERN", "CreatedKey", "KeyList", "KeyRequest", "KeyView", "Role"]

Role = Literal["ingest", "read", "admin"]
TEAM_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A non-empty glob of at most 200 characters, with no comma (the CLI splits lists on commas).
GLOB_PATTERN: Final = re.compile(r"^[^,\n\r\t]{1,200}$")
KEY_ID_PATTERN: Final = re.compile(r"^trk_[0-9a-f]{12}$")

_Glob = Annotated[str, Field(pattern=GLOB_PATTERN.pattern)]


class KeyRequest(Request):
    """A key to create."""

    team: str = Field(pattern=TEAM_PATTERN.pattern, description="The team the key belongs to")
    role: Role = Field(description="ingest (send spans), read (read its team's data) or admin (everything)")
    agents: list[_Glob] = Field(default_factory=list, description="Agent name globs a read key may see; empty: all")
    services: list[_Glob] = Field(default_factory=list, description="Service name globs a read key may see; empty: all")


class KeyView(Response):
    """A key as lists show it: never its text or hash."""

    id: str = Field(description="trk_ and 12 hex digits; public, names the key in lists and the audit log")
    team: str
    role: Role
    agents: list[str]
    services: list[str]
    created_at: str = Field(description="ISO 8601")
    created_by: str
    revoked_at: str | None = Field(description="ISO 8601; None while the key is valid")


class CreatedKey(KeyView):
    """A new key, with its text: shown this once, stored nowhere."""

    key: str = Field(description="The key's text, for Authorization: Bearer")


class KeyList(Response):
    """``GET /api/v1/keys``: every key, revoked ones too, oldest first."""

    keys: list[KeyView]
