"""Durations as people type them (``90``, ``30s``, ``5m``, ``2h``, ``7d``), read by one rule.

The metrics API's ``bucket``, a monitor's ``--window``, the gate's ``--window`` and the trace
list's ``--since`` all take this syntax; each caller adds its own bounds.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["UNIT_SECONDS", "parse_duration", "whole_seconds"]

UNIT_SECONDS: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_duration(text: str | float) -> float:
    """Seconds from a number (seconds) with an optional unit ``s``, ``m``, ``h`` or ``d``, any case.

    ValueError, naming the text, for anything else and for zero: no caller has a use for an
    empty window.
    """
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{str(text)!r} is not a duration such as 90s, 30m, 2h or 7d")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]


def whole_seconds(text: str | float) -> int | None:
    """:func:`parse_duration` for callers that count in whole seconds: None unless it is a whole, positive number."""
    try:
        exact = parse_duration(text)
    except ValueError:
        return None
    seconds = int(exact)
    return seconds if seconds == exact and seconds > 0 else None
