"""Queries behind the read API: the trace list and one trace's spans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Final, cast

from tracereel import semconv as sc
from tracereel.collector.query.metrics import RUN_AFTER, SKEW_BEFORE
from tracereel.collector.query.prices import PriceTable, load_prices
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.search import few_matching_traces, parse_search, search_condition
from tracereel.collector.store import (
    ROLLUP_TABLE,
    TASK_LIST_TABLE,
    TRACE_ID_TS_TABLE,
    TRACE_STATS_TABLE,
    TRACES_TABLE,
    Store,
)
from tracereel.rules import task_agent_sql
from tracereel.traces import SpanJSON, Trace

__all__ = ["get_trace", "list_traces", "search_stretches", "trace_team", "trace_teams"]

# ok is "not ERROR": OpenTelemetry leaves a span that ended without error UNSET unless the
# instrumentation says OK, and task success reads a root that is not ERROR as a success.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_STATUSES = {"ok": "Status != 'ERROR'", "error": "Status = 'ERROR'", "unset": "Status = 'UNSET'"}


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
    prices: PriceTable | None = None,
    version: str | None = None,
    scope: Scope = EVERYTHING,
    include_replays: bool = False,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """Traces whose root span starts in [start, end), newest first, with counts, tokens and cost.

    ``status`` is ok (the root is not ERROR), error or unset. Replays (``replay_of``: the replayed
    trace) and eval case runs (``eval_run_id``) are listed only with ``include_replays``: the list
    is the agents' own traffic unless asked.

    ``cost_usd`` sums the trace's LLM spans like the metrics do (``prices``: default table if None);
    ``cost_coverage`` is the share of its LLM spans that had a price (None without LLM spans).
    Runs whose process died before the root span ended (no root ever arrived) are listed too,
    found by the SDK's ``task_start`` marker, with ``complete: false`` and status UNSET.
    A task's agent and version are the root's, else the first agent span's (tracereel/rules.py);
    ``agent`` and ``version`` select by them. Tokens are summed over LLM spans only.
    Only traces in ``scope`` (their root's team and service, the task's agent) are listed, and
    only the scope's team's spans are counted. ``q``: only traces whose payloads contain every word
    of it (collector/query/search.py; SearchError, a ParamError, if it is empty or too long).

    The entries come from the task list table (collector/store/task_list.py), read newest first in
    its own order; the counts of the listed traces from their spans, within the trace-id lookup's bounds.
    """
    filters: dict[str, Any] = {
        "service": service,
        "agent": agent,
        "status": status,
        "prices": prices,
        "version": version,
        "scope": scope,
        "include_replays": include_replays,
    }
    if q is None:
        return _list_window(store, start=start, end=end, limit=limit, **filters)
    # A search reads the payloads of the newest stretch of the window first and goes further back only
    # while fewer than ``limit`` traces are found, so a word most traces hold reads the spans of about
    # ``limit`` tasks, however many the store holds. A word with few hits in the whole window is read in
    # one go (each stretch costs a few queries, whatever it finds). The stretches are disjoint and in
    # order, so the traces found are the newest ``limit`` of the window.
    parse_search(q)  # a bad text is refused whatever the window
    few = few_matching_traces(store, q, _FEW_HITS_PER_ROW * limit, start=start, end=end, scope=scope)
    if few is not None:
        return _list_window(store, start=start, end=end, limit=limit, among=few, **filters) if few else []
    found: list[dict[str, Any]] = []
    for lo, hi in search_stretches(store, start=start, end=end, limit=limit, scope=scope):
        found += _list_window(store, start=lo, end=hi, limit=limit - len(found), q=q, **filters)
        if len(found) >= limit:
            break
    return found


# A search whose window holds fewer matching spans than this many per row asked for reads them all at
# once (at most this many times the spans the newest stretch would read for a word every task holds),
# and lists its traces by id.
_FEW_HITS_PER_ROW: Final = 4
# Each stretch of a search reaches this many times further back from the window's newest task than the one before.
_STRETCH_GROWTH: Final = 8


def search_stretches(
    store: Store, *, start: datetime, end: datetime, limit: int, scope: Scope = EVERYTHING
) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into stretches, newest first, for a search that stops at ``limit`` traces.

    The newest stretch holds the newest ``limit`` tasks of the window that ``scope`` may see (their roots
    and task-start markers, before any other filter): a word every task holds is found there. Each stretch
    after it reaches :data:`_STRETCH_GROWTH` times further back from the newest task, so a window of any
    length is a handful of stretches. Fewer than ``limit`` tasks in the window: one stretch.
    """
    visible, params = scope_sql(Scope(team=scope.team, services=scope.services))
    newest, oldest, tasks = store.query(
        f"""SELECT max(Start), min(Start), count() FROM (
    SELECT Start FROM {TASK_LIST_TABLE}
    WHERE Start >= {{start:DateTime64(9)}} AND Start < {{end:DateTime64(9)}} AND {visible}
    ORDER BY Start DESC
    LIMIT {{limit:UInt32}}
)""",
        {**params, "start": start, "end": end, "limit": limit},
    )[0]
    if tasks < limit:
        return [(start, end)]
    newest, oldest = (t.replace(tzinfo=timezone.utc) for t in (newest, oldest))
    cuts = [end, oldest]
    reach = max(newest - oldest, timedelta(seconds=1))
    while (cut := newest - reach * _STRETCH_GROWTH) > start:
        cuts.append(cut)
        reach *= _STRETCH_GROWTH
    cuts.append(start)
    return [(cuts[k + 1], cuts[k]) for k in range(len(cuts) - 1) if start <= cuts[k + 1] < cuts[k]]


def _list_window(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    limit: int,
    service: str | None = None,
    agent: str | None = None,
    status: str | None = None,
    prices: PriceTable | None = None,
    version: str | None = None,
    scope: Scope = EVERYTHING,
    include_replays: bool = False,
    q: str | None = None,
    among: list[str] | None = None,
) -> list[dict[str, Any]]:
    """:func:`list_traces` over one window, its search (``q``) over that window's payloads; ``among``:
    only these traces (a search's, found beforehand)."""
    visible, scope_params = scope_sql(Scope(team=scope.team, services=scope.services))
    window = ["Start >= {start:DateTime64(9)}", "Start < {end:DateTime64(9)}"]
    where = ["IsMarker = 0", *window, visible]
    params: dict[str, Any] = {"start": start, "end": end, "limit": limit, **scope_params}
    # A run that never finished is found by its task-start marker, which names the agent it started.
    marker_visible, marker_params = scope_sql(scope, name="marker_scope")
    markers = ["IsMarker = 1", *window, marker_visible]
    params.update(marker_params)
    if service:
        where.append("ServiceName = {service:String}")
        markers.append("ServiceName = {service:String}")
        params["service"] = service
    if agent or version or scope.agents:
        unnamed = f"""(SELECT TraceId FROM {TASK_LIST_TABLE}
            WHERE IsMarker = 0 AND AgentName = '' AND {" AND ".join(window)})"""
        where.append(_agent_condition(agent, version, scope, params, unnamed))
    if agent:
        markers.append("AgentName = {agent:String}")
    if version:
        markers.append("AgentVersion = {version:String}")
    if status:
        where.append(_STATUSES[status.lower()])
    if q is not None:
        found, search_params = search_condition(q, start=start, end=end, scope=scope)
        where.append(found)
        markers.append(found)
        params.update(search_params)
    if among is not None:
        where.append("TraceId IN {among:Array(String)}")
        markers.append("TraceId IN {among:Array(String)}")
        params["among"] = among
    if not include_replays:  # not for markers: the task-start markers of unfinished runs carry neither mark
        where += ["ReplayOf = ''", "EvalRunId = ''"]
    roots = _newest(
        store,
        """TraceId AS trace_id, RootName AS root_name, ServiceName AS service_name,
       AgentName AS agent_name, AgentVersion AS agent_version,
       toUnixTimestamp64Nano(Start) AS start_ns, Duration AS duration_ns,
       Status AS status_code, StatusMessage AS status_message, TaskSuccess AS task_success,
       ReplayOf AS replay_of, EvalRunId AS eval_run_id""",
        where,
        params,
        limit,
    )
    for r in roots:
        r["complete"] = True
    if not status:
        roots = _with_incomplete(store, roots, markers, params, limit)
    if not roots:
        return []
    starts = [r["start_ns"] for r in roots]
    by_id = _trace_stats(store, [r["trace_id"] for r in roots], starts, prices or load_prices(None), scope)
    # A root that names its agent is the task's agent (tracereel/rules.py); the others ask the rollup.
    agents = _task_agents(store, [r["trace_id"] for r in roots if r["complete"] and r["agent_name"] == ""])
    out: list[dict[str, Any]] = []
    for r in roots:
        spans, errors, tokens_in, tokens_out, steps, cost, llm_calls, priced, last_end = by_id.get(
            r["trace_id"], (1, 0, 0, 0, 0, 0.0, 0, 0, 0)
        )
        success = r.pop("task_success")
        start_ns = r.pop("start_ns")
        duration_ns = r.pop("duration_ns")
        if duration_ns < 0:  # incomplete: from the start to the last span that did arrive
            duration_ns = max(last_end - start_ns, 0)
        if r["trace_id"] in agents:
            r["agent_name"], r["agent_version"] = agents[r["trace_id"]]
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
                "cost_usd": float(cost),
                "cost_coverage": priced / llm_calls if llm_calls else None,
                "task_success": None if success < 0 else bool(success),
            }
        )
    return out


def _newest(store: Store, columns: str, where: list[str], params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` task list entries matching ``where``, one per trace (its newest; a re-sent
    span is stored twice).

    Not ``LIMIT 1 BY TraceId`` in SQL: ClickHouse then reads whole blocks from every part before the
    first row comes out (about 10x slower here), while a plain ``ORDER BY Start DESC LIMIT n`` reads in
    the table's order and stops after n rows. Duplicates are rare, so n a little over ``limit`` almost
    always suffices; when it does not, the read is repeated with a larger n.
    """
    fetch = limit + 16
    while True:
        rows = store.query_dicts(
            f"""SELECT {columns}
FROM {TASK_LIST_TABLE}
WHERE {" AND ".join(where)}
ORDER BY Start DESC
LIMIT {{fetch:UInt32}}""",
            {**params, "fetch": fetch},
        )
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["trace_id"], row)
        if len(unique) >= limit or len(rows) < fetch:
            return list(unique.values())[:limit]
        fetch *= 4


def _trace_stats(
    store: Store, trace_ids: list[str], starts_ns: list[int], prices: PriceTable, scope: Scope
) -> dict[str, tuple[Any, ...]]:
    """Per trace of ``trace_ids`` (starting at ``starts_ns``): spans, errors, input and output tokens, steps,
    cost, LLM calls, priced LLM calls and the end of its last span (ns), over the scope's team's spans
    (collector/store/task_list.py).

    Cost and priced calls as the metrics count them: explicit ``tracereel.cost.usd``, else tokens x price.
    """
    # The hours each trace's rows are filed under: a task's spans start inside its root, with the metrics'
    # slack for clock skew before it and runs that go on for hours after it. Pairs of hour and trace, not
    # one range of hours: a search's traces may lie days apart, and the table is ordered by hour, then id.
    hours: list[tuple[datetime, str]] = []
    for trace_id, start_ns in zip(trace_ids, starts_ns, strict=True):
        start = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc)
        hour = max(start - SKEW_BEFORE, _EPOCH).replace(minute=0, second=0, microsecond=0)
        while hour < start + RUN_AFTER:
            hours.append((hour, trace_id))
            hour += timedelta(hours=1)
    team, team_params = scope_sql(Scope(team=scope.team))
    rows = store.query(
        f"""SELECT TraceId, length(groupUniqArrayArray(SpanIds)), sum(Errors), sum(LlmInputTokens),
       sum(LlmOutputTokens), sum(Steps), sum(ExplicitCost), sum(LlmCalls), sum(ExplicitCostCalls),
       sumMap(ModelUsage), max(LastEnd)
FROM {TRACE_STATS_TABLE}
WHERE (Hour, TraceId) IN {{hours:Array(Tuple(DateTime, String))}} AND {team}
GROUP BY TraceId""",
        {**team_params, "hours": hours},
    )
    stats: dict[str, tuple[Any, ...]] = {}
    for trace_id, spans, errors, tokens_in, tokens_out, steps, cost, llm_calls, priced, usage, last_end in rows:
        for model, calls, model_in, model_out in zip(*usage, strict=True):
            price = prices.lookup(model) if model else None
            if price is not None:
                cost += (model_in * price.input_per_million + model_out * price.output_per_million) / 1e6
                priced += calls
        stats[trace_id] = (spans, errors, tokens_in, tokens_out, steps, cost, llm_calls, priced, last_end)
    return stats


# The task's agent and version (tracereel/rules.py) over a trace's rollup rows.
_TASK_AGENT = task_agent_sql("max(RootAgent)", "max(RootVersion)", "min(FirstAgent)")


def _agent_condition(
    agent: str | None, version: str | None, scope: Scope, params: dict[str, Any], candidates: str
) -> str:
    """A condition on task list roots: the task's agent is ``agent``, its version ``version``, and in the
    scope's globs. A root that names an agent is compared itself; only roots that name none (a LangGraph
    chain) look up their first agent span in the rollup, among the traces of the SQL set ``candidates``."""
    conditions: dict[str, list[str]] = {}
    for agent_column, version_column in (("AgentName", "AgentVersion"), ("agent", "version")):
        globs, glob_params = scope_sql(
            Scope(agents=scope.agents), team_column=None, agent_column=agent_column, service_column=None,
            name="agent_scope",
        )  # fmt: skip
        params.update(glob_params)
        conditions[agent_column] = [globs]
        if agent:
            conditions[agent_column].append(f"{agent_column} = {{agent:String}}")
        if version:
            conditions[agent_column].append(f"{version_column} = {{version:String}}")
    if agent:
        params["agent"] = agent
    if version:
        params["version"] = version
    return f"""((AgentName != '' AND {" AND ".join(conditions["AgentName"])}) OR (AgentName = '' AND TraceId IN (
    SELECT TraceId FROM (
        SELECT TraceId, {_TASK_AGENT[0]} AS agent, {_TASK_AGENT[1]} AS version FROM {ROLLUP_TABLE}
        WHERE TraceId IN {candidates}
        GROUP BY TraceId
    ) WHERE {" AND ".join(conditions["agent"])}
)))"""


def _task_agents(store: Store, trace_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The task's agent and version of each of ``trace_ids`` (tracereel/rules.py), from the rollup."""
    if not trace_ids:
        return {}
    rows = store.query(
        f"""SELECT TraceId, {_TASK_AGENT[0]}, {_TASK_AGENT[1]} FROM {ROLLUP_TABLE}
WHERE TraceId IN {{ids:Array(String)}}
GROUP BY TraceId""",
        {"ids": trace_ids},
    )
    return {str(row[0]): (str(row[1]), str(row[2])) for row in rows}


def _with_incomplete(
    store: Store, roots: list[dict[str, Any]], filters: list[str], params: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """``roots`` plus the runs among the ``limit`` newest task starts that have no root, newest first.

    Every task the SDK records exports a ``task_start`` marker when it starts, so the newest
    ``limit`` tasks of the merged list are among the newest ``limit`` markers.
    """
    markers = _newest(
        store,
        """TraceId AS trace_id, AgentName AS agent_name, AgentVersion AS agent_version,
       ServiceName AS service_name, toUnixTimestamp64Nano(Start) AS start_ns""",
        filters,
        params,
        limit,
    )
    listed = {r["trace_id"] for r in roots}
    candidates = [m for m in markers if m["trace_id"] not in listed]
    if not candidates:
        return roots
    lo = datetime.fromtimestamp(min(m["start_ns"] for m in candidates) / 1e9, tz=timezone.utc)
    # Any root of the trace, in scope or not: a run whose root is out of scope is not "incomplete".
    rooted = {
        row[0]
        for row in store.query(
            f"""SELECT DISTINCT TraceId FROM {TASK_LIST_TABLE}
WHERE IsMarker = 0 AND TraceId IN {{ids:Array(String)}} AND Start >= {{lo:DateTime64(9)}}""",
            {"ids": [m["trace_id"] for m in candidates], "lo": lo - timedelta(hours=1)},
        )
    }
    for m in candidates:
        if m["trace_id"] in rooted:
            continue  # its root started outside the window or failed a filter
        roots.append(
            {
                **m,
                "root_name": f"{sc.OP_INVOKE_AGENT} {m['agent_name']}",
                "duration_ns": -1,
                "status_code": "UNSET",
                "status_message": "no root span arrived: the run did not finish (crashed or still running)",
                "task_success": -1,
                "replay_of": "",
                "eval_run_id": "",
                "complete": False,
            }
        )
    roots.sort(key=lambda r: r["start_ns"], reverse=True)
    return roots[:limit]


def _span_cost(row: dict[str, Any], prices: PriceTable) -> float | None:
    """An LLM span's cost as the metrics count it: explicit, else tokens x price; None if unpriced."""
    explicit = row.pop("explicit_cost")
    if row["kind"] != "llm":
        return None
    if explicit is not None:
        return float(explicit)
    price = prices.lookup(row["model"]) if row["model"] else None
    if price is None:
        return None
    return (row["input_tokens"] * price.input_per_million + row["output_tokens"] * price.output_per_million) / 1e6


def _lookup_bounds(store: Store, trace_ids: Sequence[str]) -> tuple[datetime, datetime] | None:
    """Whole-second bounds [lo, hi) of every span of ``trace_ids`` from the trace-id lookup; None if it has none."""
    bounds = store.query(
        f"SELECT min(Start), max(End), count() FROM {TRACE_ID_TS_TABLE} WHERE TraceId IN {{ids:Array(String)}}",
        {"ids": list(trace_ids)},
    )
    if not bounds or not bounds[0][2]:
        return None
    start, end, _ = bounds[0]
    lo = datetime.fromtimestamp(int(start.replace(tzinfo=timezone.utc).timestamp()), tz=timezone.utc)
    hi = datetime.fromtimestamp(int(end.replace(tzinfo=timezone.utc).timestamp()) + 1, tz=timezone.utc)
    return lo, hi


def _trace_window(store: Store, trace_id: str) -> dict[str, Any] | None:
    """The trace's id and whole-second time bounds (``id``, ``lo``, ``hi``) from the lookup table; None if unknown."""
    bounds = _lookup_bounds(store, [trace_id])
    if bounds is None:
        return None
    return {"id": trace_id, "lo": bounds[0], "hi": bounds[1]}


def _visible(store: Store, window: dict[str, Any], scope: Scope) -> bool:
    """Whether ``scope`` may see the trace of ``window``: its root in the scope's team and services
    and its task's agent in the scope's globs, as the list decides; or, for a run that never
    finished, its task-start marker in the scope. Read from the task list, within the lookup's bounds."""
    if scope.unrestricted:
        return True
    root_visible, params = scope_sql(Scope(team=scope.team, services=scope.services))
    marker_visible, marker_params = scope_sql(scope, name="marker_scope")
    params.update(window)
    params.update(marker_params)
    agent_visible = _agent_condition(None, None, scope, params, "({id:String})") if scope.agents else "1"
    entry = store.query(
        f"""SELECT count() FROM {TASK_LIST_TABLE}
WHERE TraceId = {{id:String}} AND Start >= {{lo:DateTime64(9)}} AND Start < {{hi:DateTime64(9)}}
  AND ((IsMarker = 0 AND {root_visible} AND {agent_visible}) OR (IsMarker = 1 AND {marker_visible}))""",
        params,
    )
    return bool(entry[0][0])


def trace_team(store: Store, trace_id: str, scope: Scope = EVERYTHING) -> str | None:
    """The team whose trace ``trace_id`` is ('' for none), if ``scope`` may see it; None otherwise.

    Another team's trace is None, exactly like an unknown one.
    """
    window = _trace_window(store, trace_id)
    if window is None or not _visible(store, window, scope):
        return None
    team, team_params = scope_sql(Scope(team=scope.team))
    rows = store.query(
        f"""SELECT Team FROM {TRACES_TABLE}
WHERE TraceId = {{id:String}} AND {team} AND Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}}
ORDER BY IsRoot DESC LIMIT 1""",
        {**window, **team_params},
    )
    return str(rows[0][0]) if rows else None


def trace_teams(store: Store, trace_ids: Sequence[str], scope: Scope = EVERYTHING) -> dict[str, str]:
    """:func:`trace_team` of each of ``trace_ids`` that ``scope`` may see (the others are left out).

    An unrestricted scope (an admin key, auth off: the online evaluator's) is answered in two
    queries whatever the number of traces; a restricted one trace by trace, as :func:`trace_team`.
    """
    ids = list(dict.fromkeys(trace_ids))
    if not scope.unrestricted or len(ids) < 2:
        teams = {trace_id: trace_team(store, trace_id, scope) for trace_id in ids}
        return {trace_id: team for trace_id, team in teams.items() if team is not None}
    bounds = _lookup_bounds(store, ids)
    if bounds is None:
        return {}
    lo, hi = bounds
    rows = store.query(
        f"""SELECT TraceId, argMax(Team, IsRoot) FROM {TRACES_TABLE}
WHERE TraceId IN {{ids:Array(String)}} AND Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}}
GROUP BY TraceId""",
        {"ids": ids, "lo": lo, "hi": hi},
    )
    return {str(trace_id): str(team) for trace_id, team in rows}


def get_trace(store: Store, trace_id: str, prices: PriceTable | None = None, scope: Scope = EVERYTHING) -> Trace | None:
    """Every span of one trace, oldest first, as ``tracereel.traces.Trace``; None if the store has no such trace.

    LLM spans carry ``cost_usd`` (explicit, else from ``prices``; None if unpriced), others None.
    With a restricted ``scope``, the trace is found only if its root (or, for a run that never
    finished, its task-start marker) is in the scope, and only the scope's team's spans are
    returned: another team's trace is None, exactly like an unknown one. (Its scores are
    :func:`tracereel.collector.query.scores.trace_scores`.)
    """
    window = _trace_window(store, trace_id)
    if window is None or not _visible(store, window, scope):
        return None
    team, team_params = scope_sql(Scope(team=scope.team))
    rows = store.query_dicts(
        f"""SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name, Kind AS kind,
       toUnixTimestamp64Nano(Timestamp) AS start_time_unix_nano, Duration AS duration_ns,
       Status AS status_code, StatusMessage AS status_message, SpanKind AS span_kind,
       ServiceName AS service_name, ScopeName AS scope_name, SpanAttributes AS attributes,
       ResourceAttributes AS resource_attributes,
       arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS ev_ts, `Events.Name` AS ev_name,
       `Events.Attributes` AS ev_attrs, `Links.TraceId` AS l_trace, `Links.SpanId` AS l_span,
       `Links.Attributes` AS l_attrs, Model AS model, InputTokens AS input_tokens, OutputTokens AS output_tokens,
       CostUsd AS explicit_cost
FROM {TRACES_TABLE}
WHERE TraceId = {{id:String}} AND {team}
  AND Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}}
ORDER BY Timestamp, SpanId
LIMIT 1 BY SpanId""",
        # The lookup table keeps whole seconds; compare as DateTime64 (a DateTime bound on this
        # table's toDateTime(Timestamp) sort key matched no rows in chDB 26.9).
        {**window, **team_params},
    )
    if not rows:
        return None
    table = prices or load_prices(None)
    spans: list[dict[str, Any]] = []
    for row in rows:
        row["cost_usd"] = _span_cost(row, table)
        ev_ts, ev_name, ev_attrs = row.pop("ev_ts"), row.pop("ev_name"), row.pop("ev_attrs")
        l_trace, l_span, l_attrs = row.pop("l_trace"), row.pop("l_span"), row.pop("l_attrs")
        row["events"] = [
            {"name": n, "time_unix_nano": t, "attributes": a} for t, n, a in zip(ev_ts, ev_name, ev_attrs, strict=True)
        ]
        row["links"] = [
            {"trace_id": t, "span_id": s, "attributes": a} for t, s, a in zip(l_trace, l_span, l_attrs, strict=True)
        ]
        spans.append(row)
    return {"trace_id": trace_id, "spans": cast(list[SpanJSON], spans)}
