"""The trace list (migration 0020's task list and per-trace counts) against raw SQL over otel_traces.

A seeded store holds several agents, versions, services, statuses and teams, roots that name no
agent (the task's agent is then its first agent span), replays and eval runs, an unfinished run (a
task-start marker, no root), a finished run with its marker, and a root span stored twice. Every
filter and scope of ``list_traces`` is checked against what the test computes from the raw spans.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support import store_before
from tracereel.collector.query import list_traces
from tracereel.collector.query.scope import Scope, glob_to_like
from tracereel.collector.store import Store

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
WINDOW = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(days=1)}
COLUMNS = [
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "ServiceName",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "Team",
]


def _agent(name: str, version: str = "") -> dict[str, str]:
    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
    return {**attrs, "gen_ai.agent.version": version} if version else attrs


# (trace number, minute, service, team, root attributes or None for no root, status, child agent, marker)
TASKS: list[tuple[int, int, str, str, dict[str, str] | None, str, dict[str, str] | None, bool]] = [
    (1, 0, "shop", "red", _agent("support", "1"), "Ok", None, False),
    (2, 5, "shop", "red", _agent("support", "2"), "Error", None, True),
    (3, 10, "bank", "blue", _agent("billing", "1"), "Unset", None, False),
    (4, 15, "shop", "blue", _agent("support", "2"), "Error", None, False),
    # LangGraph-like: the root is a chain, the task's agent its first agent span below.
    (5, 20, "shop", "red", {"openinference.span.kind": "CHAIN"}, "Ok", {"graph.node.id": "router"}, False),
    (6, 25, "bank", "red", {"openinference.span.kind": "CHAIN"}, "Error", _agent("billing", "3"), False),
    (7, 30, "shop", "", _agent("support", "1"), "Unset", None, False),
    # A replay and an eval case run: listed only with include_replays.
    (8, 35, "shop", "red", {**_agent("support", "2"), "tracereel.replay.of": "1" * 32}, "Ok", None, False),
    (9, 40, "shop", "red", {**_agent("support", "2"), "tracereel.eval.run_id": "run-1"}, "Ok", None, False),
    # Unfinished runs: a task-start marker and no root.
    (10, 45, "shop", "red", None, "", None, True),
    (11, 50, "bank", "blue", None, "", None, True),
    (12, 55, "shop", "red", _agent("support", "1"), "Ok", None, False),
]
MARKER_AGENT = {2: ("support", "2"), 10: ("support", "2"), 11: ("billing", "1")}


def _tid(n: int) -> str:
    return f"{n:032x}"


def _seed(store: Store) -> None:
    for n, minute, service, team, root, status, child, marker in TASKS:
        start = (T0 + timedelta(minutes=minute)).replace(tzinfo=None)
        root_id = f"{n:016x}"
        rows: list[list[Any]] = []
        if marker:
            name, version = MARKER_AGENT[n]
            attrs = {"tracereel.task.start": "true", "gen_ai.agent.name": name, "gen_ai.agent.version": version}
            rows.append(
                [start, _tid(n), f"{n + 500:016x}", root_id, f"task_start {name}", service, attrs, 0, "Unset", team]
            )
        if child is not None:
            rows.append(
                [start + timedelta(milliseconds=1), _tid(n), f"{n + 300:016x}", root_id, "agent", service,
                 {"openinference.span.kind": "AGENT", **child}, 1_000_000, "Ok", team]
            )  # fmt: skip
        llm = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
        llm |= {"gen_ai.usage.input_tokens": str(100 * n), "gen_ai.usage.output_tokens": str(10 * n)}
        rows.append([start + timedelta(milliseconds=2), _tid(n), f"{n + 100:016x}", root_id, "chat gpt-4o-mini",
                     service, llm, 2_000_000, "Ok", team])  # fmt: skip
        tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}
        rows.append([start + timedelta(milliseconds=3), _tid(n), f"{n + 200:016x}", root_id, "execute_tool t",
                     service, tool, 1_000_000, "Error" if n % 2 else "Ok", team])  # fmt: skip
        # The children in one INSERT, the root in another (as a batching exporter sends them).
        store.insert_rows("otel_traces", rows, COLUMNS)
        if root is not None:
            name = f"invoke_agent {root['gen_ai.agent.name']}" if "gen_ai.agent.name" in root else "LangGraph"
            attrs = {**root, "tracereel.task.success": "true" if status == "Ok" else "false"}
            root_row = [start, _tid(n), root_id, "", name, service, attrs, 9_000_000, status, team]
            store.insert_rows("otel_traces", [root_row], COLUMNS)
            if n == 12:  # a re-sent root span: stored twice, listed once
                store.insert_rows("otel_traces", [root_row], COLUMNS)


def _expected(
    store: Store,
    *,
    service: str | None = None,
    agent: str | None = None,
    version: str | None = None,
    status: str | None = None,
    team: str | None = None,
    agents: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
    include_replays: bool = False,
) -> list[str]:
    """The trace ids the list must show, newest first, worked out from the raw spans."""
    roots = store.query(
        """SELECT TraceId, max(Timestamp), any(ServiceName), any(Team), any(StatusCode),
       any(SpanAttributes['gen_ai.agent.name']), any(SpanAttributes['gen_ai.agent.version']),
       any(SpanAttributes['tracereel.replay.of']) || any(SpanAttributes['tracereel.eval.run_id'])
FROM otel_traces WHERE ParentSpanId = '' GROUP BY TraceId"""
    )
    first_agents = {
        row[0]: (row[1][0], row[1][1])
        for row in store.query(
            """SELECT TraceId, argMin((if(SpanAttributes['gen_ai.agent.name'] != '',
       SpanAttributes['gen_ai.agent.name'], SpanAttributes['graph.node.id']), SpanAttributes['gen_ai.agent.version']),
       Timestamp)
FROM otel_traces WHERE ParentSpanId != '' AND SpanAttributes['openinference.span.kind'] = 'AGENT' GROUP BY TraceId"""
        )
    }
    markers = store.query(
        """SELECT TraceId, max(Timestamp), any(ServiceName), any(Team), any(SpanAttributes['gen_ai.agent.name']),
       any(SpanAttributes['gen_ai.agent.version'])
FROM otel_traces WHERE startsWith(SpanName, 'task_start ') GROUP BY TraceId"""
    )

    def glob_ok(name: str, svc: str) -> bool:
        return (not agents or any(_like(name, glob_to_like(g)) for g in agents)) and (
            not services or any(_like(svc, glob_to_like(g)) for g in services)
        )

    listed: list[tuple[datetime, str]] = []
    for trace_id, ts, svc, tm, code, root_agent, root_version, mark in roots:
        task_agent, task_version = (root_agent, root_version) if root_agent else first_agents.get(trace_id, ("", ""))
        if (service and svc != service) or (team is not None and tm != team) or not glob_ok(task_agent, svc):
            continue
        if (agent and task_agent != agent) or (version and task_version != version):
            continue
        if status and {"ok": code == "Error", "error": code != "Error", "unset": code != "Unset"}[status]:
            continue
        if mark and not include_replays:
            continue
        listed.append((ts, trace_id))
    rooted = {row[0] for row in roots}
    if not status:
        for trace_id, ts, svc, tm, marker_agent, marker_version in markers:
            if trace_id in rooted or (service and svc != service) or (team is not None and tm != team):
                continue
            if (
                not glob_ok(marker_agent, svc)
                or (agent and marker_agent != agent)
                or (version and marker_version != version)
            ):
                continue
            listed.append((ts, trace_id))
    return [trace_id for _, trace_id in sorted(listed, reverse=True)]


def _like(text: str, pattern: str) -> bool:
    # Enough of LIKE for the globs used here (% only).
    import fnmatch

    return fnmatch.fnmatchcase(text, pattern.replace("%", "*"))


FILTERS: list[dict[str, Any]] = [
    {},
    {"service": "bank"},
    {"agent": "support"},
    {"agent": "router"},
    {"agent": "billing"},
    {"version": "2"},
    {"agent": "billing", "version": "3"},
    {"status": "error"},
    {"status": "ok"},
    {"status": "unset"},
    {"include_replays": True},
    {"service": "shop", "agent": "support", "version": "1"},
]
SCOPES: list[Scope] = [
    Scope(team="red"),
    Scope(team="blue"),
    Scope(team=""),
    Scope(agents=("supp*",)),
    Scope(team="red", agents=("rout*", "billing")),
    Scope(services=("bank",)),
]


@pytest.fixture
def seeded(store: Store) -> Store:
    _seed(store)
    return store


def test_every_filter_lists_what_the_raw_spans_say(seeded: Store):
    for filters in FILTERS:
        got = [t["trace_id"] for t in list_traces(seeded, limit=50, **WINDOW, **filters)]
        assert got == _expected(seeded, **filters), filters


def test_every_scope_lists_what_the_raw_spans_say(seeded: Store):
    for scope in SCOPES:
        for filters in ({}, {"agent": "support"}, {"status": "error"}):
            got = [t["trace_id"] for t in list_traces(seeded, limit=50, scope=scope, **WINDOW, **filters)]
            want = _expected(seeded, team=scope.team, agents=scope.agents, services=scope.services, **filters)
            assert got == want, (scope, filters)


def test_the_limit_keeps_the_newest_and_a_duplicated_root_is_listed_once(seeded: Store):
    everything = _expected(seeded)
    assert everything[0] == _tid(12)  # the root stored twice
    for limit in (1, 2, 5):
        got = [t["trace_id"] for t in list_traces(seeded, limit=limit, **WINDOW)]
        assert got == everything[:limit]


def test_entries_carry_the_task_agent_counts_and_completeness(seeded: Store):
    rows = {t["trace_id"]: t for t in list_traces(seeded, limit=50, **WINDOW, include_replays=True)}
    counts = {
        row[0]: row[1:]
        for row in seeded.query(
            """WITH SpanAttributes['gen_ai.operation.name'] = 'chat' AS is_chat
SELECT TraceId, uniqExact(SpanId), countIf(StatusCode = 'Error'),
       countIf(SpanAttributes['gen_ai.operation.name'] IN ('chat', 'execute_tool')),
       sumIf(toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']), is_chat),
       sumIf(toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']), is_chat)
FROM otel_traces GROUP BY TraceId"""
        )
    }
    for trace_id, row in rows.items():
        assert (row["span_count"], row["error_count"], row["steps"], row["input_tokens"], row["output_tokens"]) == (
            counts[trace_id]
        ), trace_id
        assert row["cost_coverage"] == 1.0 and row["cost_usd"] > 0
    assert (rows[_tid(5)]["agent_name"], rows[_tid(6)]["agent_name"], rows[_tid(6)]["agent_version"]) == (
        "router",
        "billing",
        "3",
    )
    unfinished = rows[_tid(10)]
    assert unfinished["complete"] is False and unfinished["status_code"] == "UNSET"
    assert (unfinished["agent_name"], unfinished["task_success"]) == ("support", None)
    assert rows[_tid(2)]["complete"] is True and rows[_tid(2)]["task_success"] is False
    assert rows[_tid(12)]["task_success"] is True and rows[_tid(12)]["duration_ms"] == 9.0
    assert rows[_tid(8)]["replay_of"] == "1" * 32 and rows[_tid(9)]["eval_run_id"] == "run-1"


def test_the_migration_lists_the_spans_a_store_held_before_it(tmp_path: Path):
    raw = store_before(tmp_path, "0020")
    before = Store(raw, f"chdb://{tmp_path}")
    _seed(before)
    raw.close()

    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert "0020_trace_list" in store.applied_migrations()
        for filters in FILTERS:
            got = [t["trace_id"] for t in list_traces(store, limit=50, **WINDOW, **filters)]
            assert got == _expected(store, **filters), filters
        (listed,) = list_traces(store, limit=1, **WINDOW)
        assert (listed["trace_id"], listed["span_count"], listed["steps"]) == (_tid(12), 3, 2)
    finally:
        store.close()
