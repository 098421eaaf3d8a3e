"""The agent metrics of DESIGN.md ("Metric definitions"), computed in ClickHouse SQL.

One query computes every metric: it picks the tasks (traces whose root span starts in the
window and matches the filters), folds each task's spans into one row of per-task facts,
then aggregates the rows, either all together, per time bucket, or per root agent and version.
Rates are finished in Python so a zero denominator becomes ``None`` (JSON null).

Filters (service, agent, version) select tasks by their root span; every span of a selected
task counts, whichever agent or service produced it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tracereel.collector._migrations import TRACES_TABLE
from tracereel.collector.prices import PriceTable
from tracereel.collector.store import Store

__all__ = [
    "BREAKDOWNS",
    "METRIC_KEYS",
    "SPAN_COST_SQL",
    "SPAN_PRICED_SQL",
    "TaskFilter",
    "breakdown",
    "price_params",
    "summary",
    "task_filter_sql",
    "timeseries",
]

METRIC_KEYS: Final = (
    "tasks",
    "task_success_rate",
    "groundedness_rate",
    "tool_calls",
    "tool_success_rate",
    "tool_timeout_rate",
    "tool_error_rate",
    "retry_rate",
    "loop_rate",
    "steps_per_task",
    "steps_per_task_p95",
    "plan_length",
    "p50_latency_ms",
    "p95_latency_ms",
    "cost_usd",
    "cost_coverage",
    "cost_per_successful_task_usd",
    "safety_violation_rate",
    "human_escalation_rate",
)

BREAKDOWNS: Final = ("model", "tool", "agent", "service")

# A task's spans start inside its root span; the slack admits clock skew between services
# before the root and tasks that run for hours after it, without scanning the whole table.
SKEW_BEFORE: Final = timedelta(minutes=5)
RUN_AFTER: Final = timedelta(hours=6)


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks count: root span start in [start, end), and optional root-span filters."""

    start: datetime
    end: datetime
    service: str | None = None
    agent: str | None = None
    version: str | None = None


def task_filter_sql(flt: TaskFilter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over root spans) and parameters that select the tasks of ``flt``."""
    # Timestamp is compared with DateTime64 parameters: a DateTime bound matched no rows in chDB 26.9.
    where = ["IsRoot = 1", "Timestamp >= {start:DateTime64(9)}", "Timestamp < {end:DateTime64(9)}"]
    params: dict[str, Any] = {
        "start": flt.start,
        "end": flt.end,
        "lo": flt.start - SKEW_BEFORE,
        "hi": flt.end + RUN_AFTER,
    }
    for column, name, value in (
        ("ServiceName", "service", flt.service),
        ("AgentName", "agent", flt.agent),
        ("AgentVersion", "version", flt.version),
    ):
        if value:
            where.append(f"{column} = {{{name}:String}}")
            params[name] = value
    return " AND ".join(where), params


def price_params(store: Store, prices: PriceTable, lo: datetime, hi: datetime) -> dict[str, Any]:
    """SQL parameters ``models``, ``in_price``, ``out_price``: the priced models among LLM spans in [lo, hi)."""
    # Prefix matching happens in Python over the few distinct models of the window.
    models = store.query(
        f"SELECT DISTINCT Model FROM {TRACES_TABLE} "
        "WHERE Timestamp >= {lo:DateTime64(9)} AND Timestamp < {hi:DateTime64(9)} AND Kind = 'llm'",
        {"lo": lo, "hi": hi},
    )
    names, inputs, outputs = prices.resolve(row[0] for row in models)
    return {"models": names, "in_price": inputs, "out_price": outputs}


# The cost of one LLM span (use with price_params): explicit tracereel.cost.usd, else tokens x price per million.
SPAN_COST_SQL: Final = (
    "ifNull(CostUsd, (InputTokens * transform(Model, {models:Array(String)}, {in_price:Array(Float64)}, 0.)"
    " + OutputTokens * transform(Model, {models:Array(String)}, {out_price:Array(Float64)}, 0.)) / 1e6)"
)
# Whether an LLM span has a cost (explicit or from the price table).
SPAN_PRICED_SQL: Final = "(CostUsd IS NOT NULL OR has({models:Array(String)}, Model))"


# Per-task facts, in one pass that groups the spans of the selected tasks by trace.
# Cost: the explicit tracereel.cost.usd wins, else tokens x price per million.
# Retries and loops: each LLM/tool call becomes (sibling group, start, errored, explicit attempt >= 1,
# arguments recorded), where the sibling group hashes parent, kind, name and argument identity. Sorted by
# group then start, a call is a retry if it says so, or if it has arguments and the call before it in its
# group (the latest identical earlier sibling) failed. A loop: three non-retry calls of one keyed group,
# which in the sorted array of those calls' groups shows as a[i] = a[i + 2].
_TASK_ROWS = f"""
tasks AS (SELECT TraceId FROM {TRACES_TABLE} WHERE {{where}}),
task_spans AS (
    SELECT TraceId,
           minIf(Timestamp, IsRoot = 1) AS root_start,
           argMinIf(Status, Timestamp, IsRoot = 1) AS root_status,
           argMinIf(TaskSuccess, Timestamp, IsRoot = 1) AS root_success,
           argMinIf(Duration, Timestamp, IsRoot = 1) AS root_duration,
           argMinIf(ServiceName, Timestamp, IsRoot = 1) AS root_service,
           argMinIf(AgentName, Timestamp, IsRoot = 1) AS root_agent,
           argMinIf(AgentVersion, Timestamp, IsRoot = 1) AS root_version,
           countIf(Kind = 'llm') AS llm_calls,
           countIf(Kind = 'tool') AS tool_calls,
           countIf(Kind = 'tool' AND Status != 'ERROR') AS tool_ok,
           countIf(Kind = 'tool' AND Status = 'ERROR' AND positionCaseInsensitive(ErrorClass, 'timeout') > 0)
               AS tool_timeouts,
           countIf(Groundedness IS NOT NULL) AS scores,
           argMaxIf(Groundedness, toUnixTimestamp64Nano(Timestamp) + Duration, Groundedness IS NOT NULL)
               AS latest_score,
           countIf(PlanLength >= 0) AS plans,
           argMinIf(PlanLength, Timestamp, PlanLength >= 0) AS plan_length,
           sumIf({{cost}}, Kind = 'llm') AS cost,
           countIf(Kind = 'llm' AND {{priced}}) AS priced,
           max(GuardrailViolation) AS violated,
           max(Escalated) AS escalated,
           arraySort(c -> (c.1, c.2), groupArrayIf(
               (cityHash64(ParentSpanId, Kind, SpanName, CallKey), Timestamp, Status = 'ERROR', RetryAttempt >= 1,
                CallKey != 0),
               Kind IN ('llm', 'tool'))) AS calls
    FROM {TRACES_TABLE}
    WHERE Timestamp >= {{{{lo:DateTime64(9)}}}} AND Timestamp < {{{{hi:DateTime64(9)}}}}
      AND TraceId IN (SELECT TraceId FROM tasks)
    GROUP BY TraceId
),
task_rows AS (
    SELECT *,
           if(root_success >= 0, root_success = 1, root_status != 'ERROR') AS success,
           llm_calls + tool_calls AS steps,
           arrayMap(i -> calls[i].4 OR (calls[i].5 AND i > 1 AND calls[i - 1].1 = calls[i].1 AND calls[i - 1].3),
                    arrayEnumerate(calls)) AS retry_flags,
           arrayCount(retry_flags) AS retries,
           arrayFilter((g, c, r) -> c.5 AND NOT r, arrayMap(c -> c.1, calls), calls, retry_flags) AS repeat_groups,
           arrayExists(i -> i + 2 <= length(repeat_groups) AND repeat_groups[i] = repeat_groups[i + 2],
                       arrayEnumerate(repeat_groups)) AS looped
    FROM task_spans
)"""

_AGGREGATES = """
    count() AS tasks,
    sum(success) AS successes,
    countIf(scores > 0) AS scored_tasks,
    countIf(scores > 0 AND latest_score >= 0.5) AS grounded_tasks,
    sum(tool_calls) AS total_tool_calls,
    sum(tool_ok) AS total_tool_ok,
    sum(tool_timeouts) AS total_tool_timeouts,
    sum(steps) AS calls,
    sum(retries) AS total_retries,
    countIf(looped) AS looped_tasks,
    avg(steps) AS steps_mean,
    quantileExactInclusive(0.95)(steps) AS steps_p95,
    avgIf(plan_length, plans > 0) AS plan_mean,
    countIf(plans > 0) AS planned_tasks,
    quantileExactInclusive(0.5)(root_duration) / 1e6 AS p50_ms,
    quantileExactInclusive(0.95)(root_duration) / 1e6 AS p95_ms,
    sum(cost) AS total_cost,
    sum(llm_calls) AS total_llm_calls,
    sum(priced) AS priced_calls,
    countIf(violated) AS violated_tasks,
    countIf(escalated) AS escalated_tasks"""


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    """DESIGN.md's metric keys from one row of ``_AGGREGATES``."""
    tasks = int(row["tasks"])
    tool_calls = int(row["total_tool_calls"])
    tool_errors = tool_calls - int(row["total_tool_ok"])
    successes = int(row["successes"])
    cost = float(row["total_cost"]) if tasks else 0.0
    return {
        "tasks": tasks,
        "task_success_rate": _rate(successes, tasks),
        "groundedness_rate": _rate(row["grounded_tasks"], row["scored_tasks"]),
        "tool_calls": tool_calls,
        "tool_success_rate": _rate(row["total_tool_ok"], tool_calls),
        "tool_timeout_rate": _rate(row["total_tool_timeouts"], tool_calls),
        "tool_error_rate": _rate(tool_errors - int(row["total_tool_timeouts"]), tool_calls),
        "retry_rate": _rate(row["total_retries"], row["calls"]),
        "loop_rate": _rate(row["looped_tasks"], tasks),
        "steps_per_task": float(row["steps_mean"]) if tasks else None,
        "steps_per_task_p95": float(row["steps_p95"]) if tasks else None,
        "plan_length": float(row["plan_mean"]) if row["planned_tasks"] else None,
        "p50_latency_ms": float(row["p50_ms"]) if tasks else None,
        "p95_latency_ms": float(row["p95_ms"]) if tasks else None,
        "cost_usd": cost,
        "cost_coverage": _rate(row["priced_calls"], row["total_llm_calls"]),
        "cost_per_successful_task_usd": _rate(cost, successes),
        "safety_violation_rate": _rate(row["violated_tasks"], tasks),
        "human_escalation_rate": _rate(row["escalated_tasks"], tasks),
    }


def _run(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    *,
    group: str = "",
    extra_params: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    where, params = task_filter_sql(flt)
    params.update(price_params(store, prices, flt.start - SKEW_BEFORE, flt.end + RUN_AFTER))
    params.update(extra_params or {})
    select_group = f"{group} AS grp," if group else ""
    group_by = "GROUP BY grp ORDER BY grp" if group else ""
    task_rows = _TASK_ROWS.format(where=where, cost=SPAN_COST_SQL, priced=SPAN_PRICED_SQL)
    sql = f"WITH {task_rows}\nSELECT {select_group}{_AGGREGATES}\nFROM task_rows\n{group_by}"
    return store.query_dicts(sql, params)


def summary(store: Store, prices: PriceTable, flt: TaskFilter) -> dict[str, Any]:
    """Every metric of DESIGN.md over the tasks ``flt`` selects."""
    rows = _run(store, prices, flt)
    return _metrics(rows[0])


def timeseries(
    store: Store, prices: PriceTable, flt: TaskFilter, bucket_seconds: int, metrics: Iterable[str] = METRIC_KEYS
) -> list[dict[str, Any]]:
    """The metrics per time bucket (by root start), every bucket of the window present, oldest first.

    Each point is ``{"start": unix seconds, **metrics}``; a bucket without tasks has ``tasks=0``
    and null rates.
    """
    wanted = list(metrics)
    rows = _run(
        store,
        prices,
        flt,
        group="toUnixTimestamp(toStartOfInterval(root_start, toIntervalSecond({bucket:UInt32})))",
        extra_params={"bucket": bucket_seconds},
    )
    by_start = {int(row["grp"]): _metrics(row) for row in rows}
    # A bucket without tasks: every count 0, so every rate None.
    empty = _metrics(defaultdict(int))
    first = int(flt.start.timestamp()) // bucket_seconds * bucket_seconds
    points = []
    for t in range(first, int(flt.end.timestamp()), bucket_seconds):
        values = by_start.get(t, empty)
        points.append({"start": t, **{k: values[k] for k in wanted}})
    return points


def breakdown(store: Store, prices: PriceTable, flt: TaskFilter, by: str) -> list[dict[str, Any]]:
    """Rows per model (cost, tokens), per tool (calls, outcome rates), or with every metric per root agent
    and version or per service."""
    if by == "agent":
        rows = _run(store, prices, flt, group="(root_agent, root_version)")
        out = [{"agent": row["grp"][0], "version": row["grp"][1], **_metrics(row)} for row in rows]
        return sorted(out, key=lambda r: (-r["tasks"], r["agent"], r["version"]))
    if by == "service":
        rows = _run(store, prices, flt, group="root_service")
        return sorted(
            ({"service": row["grp"], **_metrics(row)} for row in rows), key=lambda r: (-r["tasks"], r["service"])
        )
    where, params = task_filter_sql(flt)
    spans = f"""FROM {TRACES_TABLE}
WHERE Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}}
  AND TraceId IN (SELECT TraceId FROM {TRACES_TABLE} WHERE {where})"""
    if by == "model":
        params.update(price_params(store, prices, flt.start - SKEW_BEFORE, flt.end + RUN_AFTER))
        rows = store.query_dicts(
            f"""SELECT Model AS model, count() AS llm_calls, sum(InputTokens) AS input_tokens,
       sum(OutputTokens) AS output_tokens,
       sum({SPAN_COST_SQL}) AS cost_usd,
       countIf({SPAN_PRICED_SQL}) AS priced_calls
{spans} AND Kind = 'llm'
GROUP BY model ORDER BY cost_usd DESC, llm_calls DESC, model""",
            params,
        )
        return [
            {
                "model": r["model"],
                "llm_calls": int(r["llm_calls"]),
                "input_tokens": int(r["input_tokens"]),
                "output_tokens": int(r["output_tokens"]),
                "cost_usd": float(r["cost_usd"]),
                "cost_coverage": _rate(r["priced_calls"], r["llm_calls"]),
            }
            for r in rows
        ]
    if by == "tool":
        rows = store.query_dicts(
            f"""SELECT if(ToolName != '', ToolName, SpanName) AS tool, count() AS calls,
       countIf(Status != 'ERROR') AS ok,
       countIf(Status = 'ERROR' AND positionCaseInsensitive(ErrorClass, 'timeout') > 0) AS timeouts,
       quantileExactInclusive(0.95)(Duration) / 1e6 AS p95_ms
{spans} AND Kind = 'tool'
GROUP BY tool ORDER BY calls DESC, tool""",
            params,
        )
        return [
            {
                "tool": r["tool"],
                "tool_calls": int(r["calls"]),
                "tool_success_rate": _rate(r["ok"], r["calls"]),
                "tool_timeout_rate": _rate(r["timeouts"], r["calls"]),
                "tool_error_rate": _rate(int(r["calls"]) - int(r["ok"]) - int(r["timeouts"]), r["calls"]),
                "p95_latency_ms": float(r["p95_ms"]),
            }
            for r in rows
        ]
    raise ValueError(f"by={by!r}: expected one of {', '.join(BREAKDOWNS)}")
