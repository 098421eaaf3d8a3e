"""Failing tasks of a window, found in SQL, each with its structural signature and its text.

A task fails (DESIGN.md "Production loop") when its outcome is a failure (root ERROR, or
``tracereel.task.success`` false: tracereel/rules.py), when a guardrail found a violation, when
its latest score of a name is negative feedback (source ``feedback``) or a failing online score
(source ``online:*``). The tasks are the metrics' tasks (the rollup, replays and eval runs left
out), in the reader's team and agent scope, filtered in the store.

The signature says what failed, structurally, so that only like failures are compared by text:

- the task's outcome failed: its failing step, the first non-root span to end in ERROR, as
  ``error:KIND:NAME:ERROR_TYPE`` (its kind, the tool, model or agent name, ``error.type``);
  without one, a guardrail violation as below, else the root's error ``error:agent:AGENT:TYPE``,
  else ``failed:AGENT`` (success false with nothing in error);
- else a guardrail violation: ``guardrail:NAME``;
- else a failing online score: ``score:NAME``; else negative feedback: ``feedback:NAME``.

The text is the failing step's error message, the root's, the root's output and the comments of
the failing scores: what a person reads to tell two failures apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tracereel.collector.query.metrics import RUN_AFTER, SKEW_BEFORE, TaskFilter, task_rows_query
from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.scores import SCORES_FINAL
from tracereel.collector.store import TRACES_TABLE, Store
from tracereel.rules import negative_feedback_sql, score_passes_sql

__all__ = ["Failure", "failing_tasks", "signature"]

_A: Final = "SpanAttributes"
# What a step is called in its signature: the tool, the model, the agent, the guardrail; else its span name.
_STEP_NAME: Final = (
    "multiIf(Kind = 'tool' AND ToolName != '', toString(ToolName), Kind = 'llm' AND Model != '', toString(Model), "
    "Kind = 'agent' AND AgentName != '', toString(AgentName), "
    f"{_A}['tracereel.guardrail.name'] != '', {_A}['tracereel.guardrail.name'], SpanName)"
)
_OUTPUT: Final = f"if({_A}['tracereel.agent.output'] != '', {_A}['tracereel.agent.output'], {_A}['output.value'])"
_END_NS: Final = "toUInt64(toUnixTimestamp64Nano(Timestamp)) + toUInt64(Duration)"


@dataclass(frozen=True, slots=True)
class Failure:
    """One failing task: who, when, what failed (its signature) and what it said (its text)."""

    trace_id: str
    team: str
    agent: str
    start: datetime
    signature: str
    text: str


def signature(
    *,
    success: bool,
    agent: str,
    step: tuple[str, str, str] | None,
    guardrail: str | None,
    root_error: str | None,
    online: list[str],
    feedback: list[str],
) -> str:
    """The structural signature of a failing task (see the module docstring for the order).

    ``step`` is the failing step's (kind, name, error type); ``root_error`` the root's error type
    ('' for an ERROR without one), None if the root did not end in ERROR.
    """
    if not success:
        if step is not None:
            kind, name, error = step
            return f"error:{kind}:{name}:{error or 'error'}"
        if guardrail is not None:
            return f"guardrail:{guardrail}"
        if root_error is not None:
            return f"error:agent:{agent}:{root_error or 'error'}"
        return f"failed:{agent}"
    if guardrail is not None:
        return f"guardrail:{guardrail}"
    if online:
        return f"score:{min(online)}"
    if feedback:
        return f"feedback:{min(feedback)}"
    return f"failed:{agent}"


def _query(flt: TaskFilter, scope: Scope, with_tasks: str) -> tuple[str, dict[str, Any]]:
    team, params = scope_sql(Scope(team=scope.team), name="failure_team")
    params.update({"span_lo": flt.start - SKEW_BEFORE, "span_hi": flt.end + RUN_AFTER})
    bad_feedback = f"source = 'feedback' AND {negative_feedback_sql('value')}"
    bad_online = f"startsWith(source, 'online:') AND NOT {score_passes_sql('value')}"
    sql = f"""{with_tasks},
latest_scores AS (
    -- A task's score of a name is its latest, whatever its source (tracereel/rules.py).
    SELECT TraceId, Name, argMax(Value, Time) AS value, argMax(Source, Time) AS source,
           argMax(Comment, Time) AS comment
    FROM {SCORES_FINAL}
    WHERE {team} AND TraceId IN (SELECT TraceId FROM task_rows)
    GROUP BY TraceId, Name
),
bad_scores AS (
    SELECT TraceId,
           groupArrayIf(Name, {bad_feedback}) AS feedback,
           groupArrayIf(Name, {bad_online}) AS online,
           arrayStringConcat(groupArrayIf(comment, comment != '' AND (({bad_feedback}) OR ({bad_online}))), ' ')
               AS comments
    FROM latest_scores
    GROUP BY TraceId
    HAVING length(feedback) + length(online) > 0
),
failing AS (
    SELECT TraceId, root_agent, root_start, success, violated
    FROM task_rows
    WHERE NOT success OR violated OR TraceId IN (SELECT TraceId FROM bad_scores)
),
steps AS (
    SELECT TraceId,
           any(Team) AS team,
           countIf(Status = 'ERROR' AND IsRoot = 0) AS errors,
           argMinIf((toString(Kind), {_STEP_NAME}, toString(ErrorClass), StatusMessage), {_END_NS},
                    Status = 'ERROR' AND IsRoot = 0) AS step,
           argMinIf({_STEP_NAME}, Timestamp, GuardrailViolation = 1) AS guardrail,
           maxIf(Status = 'ERROR', IsRoot = 1) AS root_failed,
           anyIf((toString(ErrorClass), StatusMessage, {_OUTPUT}), IsRoot = 1) AS root
    FROM {TRACES_TABLE}
    WHERE Timestamp >= {{span_lo:DateTime64(9)}} AND Timestamp < {{span_hi:DateTime64(9)}} AND {team}
      AND TraceId IN (SELECT TraceId FROM failing)
    GROUP BY TraceId
)
SELECT f.TraceId, s.team, f.root_agent, f.root_start, f.success, f.violated, s.errors, s.step, s.guardrail,
       s.root_failed, s.root, b.feedback, b.online, b.comments
FROM failing AS f
LEFT JOIN steps AS s ON f.TraceId = s.TraceId
LEFT JOIN bad_scores AS b ON f.TraceId = b.TraceId"""
    return sql, params


def failing_tasks(store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope = EVERYTHING) -> list[Failure]:
    """The failing tasks whose root starts in ``flt``'s window, among those ``scope`` may see."""
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    sql, more = _query(flt, scope, with_tasks.rstrip())
    params.update(more)
    out: list[Failure] = []
    for row in store.query(sql, params):
        trace_id, team, agent, start, success, violated, errors, step, guardrail, root_failed, root = row[:11]
        feedback, online, comments = row[11:]
        signed = signature(
            success=bool(success),
            agent=str(agent),
            step=(str(step[0]), str(step[1]), str(step[2])) if errors else None,
            guardrail=str(guardrail) if violated else None,
            root_error=str(root[0]) if root_failed else None,
            online=[str(name) for name in online],
            feedback=[str(name) for name in feedback],
        )
        parts = (step[3] if errors else "", root[1], root[2], comments)
        text = " ".join(str(part) for part in parts if part)
        out.append(Failure(str(trace_id), str(team), str(agent), start, signed, text))
    return out
