"""The span columns of an INSERT into ``otel_traces``, in order, and their Arrow types."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

__all__ = ["INSERT_COLUMNS", "columns_to_arrow"]

INSERT_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
    # Not from the request: the team of the key that sent it (collector/ingest/otlp.py).
    "Team",
)


@functools.cache  # pyarrow is imported on the first insert, not with the collector package
def _arrow_types() -> dict[str, Any]:
    import pyarrow as pa

    text = pa.string()
    attributes = pa.map_(pa.string(), pa.string())
    special = {
        "Timestamp": pa.timestamp("ns"),
        "Duration": pa.uint64(),
        "ResourceAttributes": attributes,
        "SpanAttributes": attributes,
        "Events.Timestamp": pa.list_(pa.timestamp("ns")),
        "Events.Name": pa.list_(text),
        "Events.Attributes": pa.list_(attributes),
        "Links.TraceId": pa.list_(text),
        "Links.SpanId": pa.list_(text),
        "Links.TraceState": pa.list_(text),
        "Links.Attributes": pa.list_(attributes),
    }
    return {name: special.get(name, text) for name in INSERT_COLUMNS}


def columns_to_arrow(columns: Sequence[list[Any]]) -> Any:
    """A ``pyarrow.Table`` of spans from columns in ``INSERT_COLUMNS`` order (converted in C++)."""
    import pyarrow as pa

    types = _arrow_types()
    arrays = [pa.array(column, type=types[name]) for name, column in zip(INSERT_COLUMNS, columns, strict=True)]
    return pa.Table.from_arrays(arrays, names=list(INSERT_COLUMNS))
