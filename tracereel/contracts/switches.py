"""Kill switches: ``GET /api/v1/switches`` (a long poll), ``POST /api/v1/switches`` and ``.../revive``."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from tracereel.contracts import Request, Response

__all__ = ["MAX_NAME", "MAX_REASON", "Kill", "Selector", "Switch", "SwitchAnswer", "Switches"]

MAX_NAME: Final = 200
MAX_REASON: Final = 1000

_Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME)]
_Agent = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
_Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)]


class Selector(Request):
    """Which switch: an agent, and optionally one version, one service, one team ('' for every one)."""

    agent: _Agent
    version: _Name = ""
    service: _Name = ""
    team: _Name = ""


class Kill(Selector):
    """Kill the switch the selector names, saying why."""

    reason: _Reason


class Switch(Response):
    """One switch's latest flip."""

    team: str = Field(description="'' for every team")
    agent: str
    version: str = Field(description="'' for every version")
    service: str = Field(description="'' for every service")
    state: Literal["killed", "revived"]
    reason: str
    changed_at: str = Field(description="ISO 8601, UTC")
    key_id: str | None = Field(description="The admin key that flipped it")


class Switches(Response):
    """``GET /api/v1/switches``: the killed switches the key's scope covers, and their version."""

    version: str = Field(description="Changes whenever the list does (the long poll's since)")
    switches: list[Switch]


class SwitchAnswer(Response):
    """What a kill or a revive answers: the switch as it now is."""

    switch: Switch
