"""The span columns of an INSERT into ``otel_traces``, in order, and their Arrow types."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["INSERT_COLUMNS", "MapColumn", "columns_to_arrow"]

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
def _arrow_types() -> dict[str, pa.DataType]:
    import pyarrow as pa

    text = pa.string()
    attributes = pa.map_(pa.string(), pa.string())
    special: dict[str, pa.DataType] = {
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


class MapColumn:
    """A ``Map(String, String)`` column kept flat: row ``i`` is ``keys``/``values[offsets[i]:offsets[i + 1]]``.

    Span attributes are the widest column. As a list of dicts, Arrow walked every dict item by
    item; flat, it takes three lists in bulk, and redaction rewrites ``values`` in one pass.
    """

    __slots__ = ("keys", "offsets", "values")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[str] = []
        self.offsets: list[int] = [0]

    def append(self, mapping: dict[str, str]) -> None:
        """Add a row (a dict, so a key sent twice keeps its last value, as in a ``Map`` built from a dict)."""
        self.keys.extend(mapping)
        self.values.extend(mapping.values())
        self.offsets.append(len(self.keys))


def _map_array(column: MapColumn | list[dict[str, str]], type_: pa.DataType) -> pa.Array[Any]:
    import pyarrow as pa

    if isinstance(column, MapColumn):
        keys, values = pa.array(column.keys, pa.string()), pa.array(column.values, pa.string())
        offsets = pa.array(column.offsets, pa.int32())
        # The stubs want Int64Array offsets, so no overload matches; MapArray.from_arrays takes
        # (and documents) int32 ones, which a Map(String, String) column is.
        mapped = pa.MapArray.from_arrays(offsets, keys, values)  # pyright: ignore[reportArgumentType, reportUnknownMemberType, reportUnknownVariableType]
        return cast("pa.Array[Any]", mapped)
    # Spans of one resource share its dict: convert each distinct dict once and repeat it by index.
    positions: dict[int, int] = {}
    distinct: list[dict[str, str]] = []
    index: list[int] = []
    for mapping in column:
        position = positions.get(id(mapping))
        if position is None:
            position = positions[id(mapping)] = len(distinct)
            distinct.append(mapping)
        index.append(position)
    if len(distinct) == len(column):
        return pa.array(column, type=type_)
    return pa.array(distinct, type=type_).take(pa.array(index, pa.int32()))


def columns_to_arrow(columns: Sequence[list[Any] | MapColumn]) -> pa.Table:
    """A ``pyarrow.Table`` of spans from columns in ``INSERT_COLUMNS`` order (converted in C++).

    A map column may be a :class:`MapColumn` or a list of dicts.
    """
    import pyarrow as pa

    types = _arrow_types()
    arrays: list[pa.Array[Any]] = []
    for name, column in zip(INSERT_COLUMNS, columns, strict=True):
        if isinstance(column, MapColumn) or name in _MAP_COLUMNS:
            arrays.append(_map_array(column, types[name]))
        else:
            arrays.append(pa.array(column, type=types[name]))
    return pa.Table.from_arrays(arrays, names=list(INSERT_COLUMNS))


_MAP_COLUMNS = frozenset({"ResourceAttributes", "SpanAttributes"})
