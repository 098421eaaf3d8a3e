"""Queries behind the read API: the trace list and one trace's spans."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tracereel.collector._migrations import TRACE_ID_TS_TABLE, TRACES_TABLE
from tracereel.collector.store import Store

__all__ = ["get_trace", "list_traces"]

_STATUSES = {"ok": "OK", "error": "ERROR", "unset": "UNSET"}


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def list_traces(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    limit: int,
    service: str | None = None,
    agent: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Traces whose root span starts in [start, end), newest first."""
    where = ["IsRoot = 1", "Timestamp >= {start:DateTime64(9)}", "Timestamp < {end:DateTime64(9)}"]
    params: dict[str, Any] = {"start": start, "end": end, "limit": limit}
    if service:
        where.append("ServiceName = {service:String}")
        params["service"] = service
    if agent:
        where.append("AgentName = {agent:String}")
        params["agent"] = agent
    if status:
        where.append("Status = {status:String}")
        params["status"] = _STATUSES[status.lower()]
    roots = store.query_dicts(
        f"""SELECT TraceId AS trace_id, SpanName AS root_name, ServiceName AS service_name,
       AgentName AS agent_name, AgentVersion AS agent_version,
       toUnixTimestamp64Nano(Timestamp) AS start_ns, Duration AS duration_ns,
       Status AS status_code, StatusMessage AS status_message,
       SpanAttributes['tracereel.task.success'] AS task_success
FROM {TRACES_TABLE}
WHERE {" AND ".join(where)}
ORDER BY Timestamp DESC
LIMIT 1 BY TraceId
LIMIT {{limit:UInt32}}""",
        params,
    )
    if not roots:
        return []
    ids = [r["trace_id"] for r in roots]
    lo = min(r["start_ns"] for r in roots)
    hi = max(r["start_ns"] + r["duration_ns"] for r in roots)
    # Children start inside their root; an hour of slack covers clock skew between services.
    stats = store.query(
        f"""SELECT TraceId, uniqExact(SpanId), countIf(Status = 'ERROR'), sum(InputTokens), sum(OutputTokens),
       countIf(Kind IN ('llm', 'tool'))
FROM {TRACES_TABLE}
WHERE TraceId IN {{ids:Array(String)}}
  AND Timestamp >= fromUnixTimestamp64Nano({{lo:Int64}}) - INTERVAL 1 HOUR
  AND Timestamp <= fromUnixTimestamp64Nano({{hi:Int64}}) + INTERVAL 1 HOUR
GROUP BY TraceId""",
        {"ids": ids, "lo": lo, "hi": hi},
    )
    by_id = {row[0]: row[1:] for row in stats}
    out = []
    for r in roots:
        spans, errors, tokens_in, tokens_out, steps = by_id.get(r["trace_id"], (1, 0, 0, 0, 0))
        success = r.pop("task_success")
        start_ns = r.pop("start_ns")
        duration_ns = r.pop("duration_ns")
        out.append(
            {
                **r,
                "start_time": _iso(start_ns),
                "start_time_unix_nano": start_ns,
                "duration_ms": duration_ns / 1e6,
                "span_count": spans,
                "error_count": errors,
                "steps": steps,
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "task_success": None if success == "" else success == "true",
            }
        )
    return out


def get_trace(store: Store, trace_id: str) -> dict[str, Any] | None:
    """Every span of one trace, oldest first; None if the store has no such trace."""
    bounds = store.query(
        f"SELECT min(Start), max(End), count() FROM {TRACE_ID_TS_TABLE} WHERE TraceId = {{id:String}}",
        {"id": trace_id},
    )
    if not bounds or not bounds[0][2]:
        return None
    start, end, _ = bounds[0]
    rows = store.query_dicts(
        f"""SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name, Kind AS kind,
       toUnixTimestamp64Nano(Timestamp) AS start_time_unix_nano, Duration AS duration_ns,
       Status AS status_code, StatusMessage AS status_message, SpanKind AS span_kind,
       ServiceName AS service_name, ScopeName AS scope_name, SpanAttributes AS attributes,
       ResourceAttributes AS resource_attributes,
       arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS ev_ts, `Events.Name` AS ev_name,
       `Events.Attributes` AS ev_attrs, `Links.TraceId` AS l_trace, `Links.SpanId` AS l_span,
       `Links.Attributes` AS l_attrs
FROM {TRACES_TABLE}
WHERE TraceId = {{id:String}}
  AND Timestamp >= fromUnixTimestamp64Nano({{lo:Int64}}) AND Timestamp < fromUnixTimestamp64Nano({{hi:Int64}})
ORDER BY Timestamp, SpanId
LIMIT 1 BY SpanId""",
        # The lookup table keeps whole seconds; compare as DateTime64 (a DateTime bound on this
        # table's toDateTime(Timestamp) sort key matched no rows in chDB 26.9).
        {
            "id": trace_id,
            "lo": int(start.replace(tzinfo=timezone.utc).timestamp()) * 10**9,
            "hi": (int(end.replace(tzinfo=timezone.utc).timestamp()) + 1) * 10**9,
        },
    )
    if not rows:
        return None
    spans = []
    for row in rows:
        ev_ts, ev_name, ev_attrs = row.pop("ev_ts"), row.pop("ev_name"), row.pop("ev_attrs")
        l_trace, l_span, l_attrs = row.pop("l_trace"), row.pop("l_span"), row.pop("l_attrs")
        row["events"] = [
            {"name": n, "time_unix_nano": t, "attributes": a} for t, n, a in zip(ev_ts, ev_name, ev_attrs, strict=True)
        ]
        row["links"] = [
            {"trace_id": t, "span_id": s, "attributes": a} for t, s, a in zip(l_trace, l_span, l_attrs, strict=True)
        ]
        spans.append(row)
    return {"trace_id": trace_id, "spans": spans}
