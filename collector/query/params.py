"""Query parameters shared by the read endpoints: time bounds and their errors."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["ParamError", "parse_time"]


class ParamError(ValueError):
    """A query parameter has a value the endpoint cannot use (answered with 400)."""


def parse_time(value: str | None, name: str, default: datetime) -> datetime:
    """Parse ``value`` as ISO-8601 or unix seconds into an aware UTC datetime."""
    if value is None or value.strip() == "":
        return default
    text = value.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(f"{name}={value!r} is not an ISO-8601 time or unix seconds") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
