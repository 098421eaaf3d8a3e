"""Dropping exact re-sends: a client that retries a request it already got through sends its spans again.

Without this, a retried request would count its tool calls, retries and cost twice. The window
is the last ``capacity`` distinct spans this collector accepted (two generations of a set, so
memory stays bounded: about 70 bytes a span). Keys are the exact ``(TraceId, SpanId)`` as one
integer, never a hash, so two different spans are never taken for one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RecentSpans", "drop_seen", "span_keys"]


def span_keys(table: pa.Table) -> list[int]:
    """The exact ``(TraceId, SpanId)`` of each row of an Arrow span table, as integers."""
    # String columns the decoders fill with hex, never null.
    traces = cast("list[str]", table.column("TraceId").to_pylist())
    spans = cast("list[str]", table.column("SpanId").to_pylist())
    return [_key(t, s) for t, s in zip(traces, spans, strict=True)]


def _key(trace: str, span: str) -> int:
    try:
        return int(trace + span, 16)
    except ValueError:  # the decoders pass hex ids only; a hash keeps this total all the same
        return hash((trace, span))


class RecentSpans:
    """The spans accepted lately; :meth:`fresh` says which of a request's spans are new."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._current: set[int] = set()
        self._previous: set[int] = set()
        self._lock = threading.Lock()
        self.dropped = 0

    def fresh(self, keys: list[int]) -> list[bool]:
        """For each key: True unless it was accepted lately or appears earlier in ``keys``.

        Only asks: call :meth:`remember` once the spans are durable, so that a request refused
        (and retried by its client) is not taken for a duplicate of itself.
        """
        with self._lock:
            current, previous = self._current, self._previous
            # The common case, all in C: no key repeats and none was accepted lately.
            if len(set(keys)) == len(keys) and current.isdisjoint(keys) and previous.isdisjoint(keys):
                return [True] * len(keys)
            seen: set[int] = set()
            out: list[bool] = []
            for key in keys:
                new = key not in seen and key not in current and key not in previous
                seen.add(key)
                out.append(new)
        self.dropped += out.count(False)
        return out

    def remember(self, keys: list[int]) -> None:
        """Record ``keys`` as accepted."""
        if self.capacity <= 0:
            return
        half = self.capacity // 2 + 1
        with self._lock:
            # Whole slices at a time (set.update runs in C), turning a generation over as it fills.
            start = 0
            while start < len(keys):
                room = half - len(self._current)
                self._current.update(keys[start : start + room])
                start += room
                if len(self._current) >= half:
                    self._previous, self._current = self._current, set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._current) + len(self._previous)


def drop_seen(recent: RecentSpans, table: pa.Table, keys: list[int] | None = None) -> tuple[pa.Table, list[int]]:
    """``table`` without the rows :meth:`RecentSpans.fresh` rejects, and the kept rows' keys.

    ``keys`` are the rows' :func:`span_keys` if already known (the parse worker makes them).
    """
    import pyarrow as pa

    if keys is None:
        keys = span_keys(table)
    mask = recent.fresh(keys)
    if all(mask):
        return table, keys
    return table.filter(pa.array(mask)), [k for k, keep in zip(keys, mask, strict=True) if keep]
