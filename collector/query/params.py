"""Query parameters of the read and metric endpoints, parsed: times, windows, buckets, trace ids.

Every problem is a ParamError whose message names the parameter and its value; the API
answers it with 400.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

from tracereel import traces
from tracereel.durations import whole_seconds

__all__ = [
    "ParamError",
    "parse_bucket",
    "parse_metrics_window",
    "parse_time",
    "parse_trace_id",
    "parse_trace_list_window",
]

# Nice bucket sizes for an automatic choice, smallest first.
_AUTO_BUCKETS: Final = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
_AUTO_BUCKET_COUNT: Final = 48
_MAX_BUCKETS: Final = 2000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
# What ClickHouse's DateTime64(9) holds; a time outside would fail the query (a 500).
_EARLIEST: Final = datetime(1900, 1, 1, tzinfo=timezone.utc)
_LATEST: Final = datetime(2262, 4, 11, tzinfo=timezone.utc)


class ParamError(ValueError):
    """A query parameter has a value the endpoint cannot use (answered with 400)."""


def parse_time(value: str | None, name: str, default: datetime) -> datetime:
    """Parse ``value`` as ISO-8601 or unix seconds into an aware UTC datetime."""
    if value is None or value.strip() == "":
        return default
    text = value.strip()
    try:
        seconds = datetime.fromtimestamp(float(text), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    else:
        return _in_range(seconds, name, value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(f"{name}={value!r} is not an ISO-8601 time or unix seconds") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return _in_range(parsed.astimezone(timezone.utc), name, value)


def _in_range(moment: datetime, name: str, value: str) -> datetime:
    if not _EARLIEST <= moment < _LATEST:
        raise ParamError(f"{name}={value!r} is outside the times the store holds (1900 to 2262)")
    return moment


def parse_metrics_window(from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    """The metrics' window [from, to): ``to`` defaults to now, ``from`` to 24 hours before ``to``."""
    end = parse_time(to, "to", datetime.now(timezone.utc))
    start = parse_time(from_, "from", end - timedelta(hours=24))
    if start >= end:
        raise ParamError(f"from={from_!r} must be before to={to!r}")
    return start, end


def parse_trace_list_window(from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    """The trace list's window: ``from`` defaults to the epoch, ``to`` to a day from now."""
    start = parse_time(from_, "from", _EPOCH)
    end = parse_time(to, "to", datetime.now(timezone.utc) + timedelta(days=1))
    return start, end


def parse_bucket(value: str | None, start: datetime, end: datetime) -> int:
    """Bucket size in seconds from ``30s``/``5m``/``1h``/``1d``/seconds; automatic (about 48 buckets) if None."""
    span = (end - start).total_seconds()
    if value is None or not value.strip():
        for size in _AUTO_BUCKETS:
            if span / size <= _AUTO_BUCKET_COUNT:
                return size
        return _AUTO_BUCKETS[-1]
    seconds = whole_seconds(value)
    if seconds is None:
        raise ParamError(f"bucket={value!r} is not a whole number of seconds such as 60, 30s, 5m, 1h or 1d")
    if span / seconds > _MAX_BUCKETS:
        raise ParamError(f"bucket={value!r} makes more than {_MAX_BUCKETS} buckets for this window")
    return seconds


def parse_trace_id(value: str) -> str:
    """A trace id as the store keeps it (tracereel/traces.py ``parse_trace_id``); ParamError if it is not one."""
    try:
        return traces.parse_trace_id(value)
    except ValueError as exc:
        raise ParamError(str(exc)) from None
