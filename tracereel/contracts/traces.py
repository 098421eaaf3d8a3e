"""The traces API: ``GET /api/v1/traces`` and ``GET /api/v1/traces/{trace_id}``.

The shapes of a trace and a trace summary are declared once, as TypedDicts in
:mod:`tracereel.traces` (replay, ``show`` and the dashboard read them as plain mappings, and
exported files are the same JSON); they are re-exported here, and pydantic validates them as
they are.
"""

from __future__ import annotations

from typing import Final

from pydantic import TypeAdapter

from tracereel.contracts import Response
from tracereel.traces import SpanEvent, SpanJSON, SpanLink, Trace, TraceSummary

__all__ = [
    "TRACE",
    "TRACE_ID_PATTERN",
    "SpanEvent",
    "SpanJSON",
    "SpanLink",
    "Trace",
    "TraceList",
    "TraceSummary",
]

# A trace id as a path segment: 32 hex digits, any case (the collector keeps lower case).
TRACE_ID_PATTERN: Final = r"^\s*[0-9a-fA-F]{32}\s*$"

TRACE: Final[TypeAdapter[Trace]] = TypeAdapter(Trace)


class TraceList(Response):
    """``GET /api/v1/traces``: trace summaries, newest first."""

    traces: list[TraceSummary]
