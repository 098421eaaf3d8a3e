"""Failing tasks of a window, found in SQL and returned in groups of alike ones, with their signature and text.

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
the failing scores, numbers taken out: what a person reads to tell two failures apart. Tasks
alike in team, agent, signature, text and window come back as one row (a count, the first and
last start, the newest trace ids), so reading 100,000 failures costs what their kinds cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from tracereel.collector.query.metrics import TaskFilter, task_filter_sql
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.scores import SCORES_FINAL
from tracereel.collector.store import ROLLUP_TABLE, TRACES_TABLE, Store
from tracereel.rules import negative_feedback_sql, score_passes_sql, task_agent_sql, task_success_sql

__all__ = ["FailureGroup", "failure_groups", "signature"]

_A: Final = "SpanAttributes"
# What a step is called in its signature: the tool, the model, the agent, the guardrail; else its span name.
_STEP_NAME: Final = (
    "multiIf(Kind = 'tool' AND ToolName != '', toString(ToolName), Kind = 'llm' AND Model != '', toString(Model), "
    "Kind = 'agent' AND AgentName != '', toString(AgentName), "
    f"{_A}['tracereel.guardrail.name'] != '', {_A}['tracereel.guardrail.name'], SpanName)"
)
_OUTPUT: Final = f"if({_A}['tracereel.agent.output'] != '', {_A}['tracereel.agent.output'], {_A}['output.value'])"
_END_NS: Final = "toUInt64(toUnixTimestamp64Nano(Timestamp)) + toUInt64(Duration)"
# The task's agent (tracereel/rules.py) over a task's rollup rows, as the metrics merge them.
_AGENT: Final = task_agent_sql("max(RootAgent)", "max(RootVersion)", "min(FirstAgent)")


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failing tasks alike in every way clustering reads: team, agent, signature, text, and which window.

    ``count`` tasks, the earliest and newest root start (UTC), and up to the asked number of
    their trace ids with their start, newest first.
    """

    team: str
    agent: str
    signature: str
    text: str
    current: bool  # in the window asked for; else in the one before it
    count: int
    first: datetime
    last: datetime
    examples: tuple[tuple[datetime, str], ...]


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


def _query(flt: TaskFilter, scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = task_filter_sql(flt, scope)
    team, team_params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None, name="failure_team")
    params.update(team_params)
    bad_feedback = f"source = 'feedback' AND {negative_feedback_sql('value')}"
    bad_online = f"startsWith(source, 'online:') AND NOT {score_passes_sql('value')}"
    # Every CTE is inlined where it is used: ``tasks`` is kept lean (no cost, no retries), as it runs twice.
    sql = f"""WITH
tasks AS (
    SELECT TraceId, max(Team) AS team, max(HasRoot) AS has_root, max(RootStart) AS root_start,
           max(RootError) AS root_error, max(RootSuccess) AS root_success, max(RootService) AS root_service,
           {_AGENT[0]} AS root_agent, {_AGENT[1]} AS root_version, max(AnyViolation) AS violated,
           max(Excluded) AS excluded
    FROM {ROLLUP_TABLE}
    WHERE Start >= {{lo:DateTime64(9)}} AND Start < {{hi:DateTime64(9)}} AND {team}
    GROUP BY TraceId
),
latest_scores AS (
    -- A task's score of a name is its latest, whatever its source (tracereel/rules.py). Scores come
    -- after their task starts: the window's lower bound (less the skew) bounds them.
    SELECT TraceId, Name, argMax(Value, Time) AS value, argMax(Source, Time) AS source,
           argMax(Comment, Time) AS comment
    FROM {SCORES_FINAL}
    WHERE {team} AND Time >= {{lo:DateTime64(9)}}
    GROUP BY TraceId, Name
),
bad_scores AS (
    SELECT TraceId,
           arrayStringConcat(groupArrayIf(Name, {bad_feedback}), '\n') AS feedback,
           arrayStringConcat(groupArrayIf(Name, {bad_online}), '\n') AS online,
           arrayStringConcat(groupArrayIf(comment, comment != '' AND (({bad_feedback}) OR ({bad_online}))), ' ')
               AS comments
    FROM latest_scores
    GROUP BY TraceId
    HAVING feedback != '' OR online != ''
),
failing AS (
    SELECT t.TraceId AS TraceId, team, root_agent, root_start, violated,
           {task_success_sql("root_success", "root_error")} AS success, b.feedback, b.online, b.comments
    FROM tasks AS t
    LEFT JOIN bad_scores AS b ON t.TraceId = b.TraceId
    WHERE {where} AND (NOT success OR violated OR b.TraceId != '')
),
steps AS (
    SELECT TraceId,
           countIf(Status = 'ERROR' AND IsRoot = 0) AS errors,
           argMinIf((toString(Kind), {_STEP_NAME}, toString(ErrorClass), StatusMessage), {_END_NS},
                    Status = 'ERROR' AND IsRoot = 0) AS step,
           argMinIf({_STEP_NAME}, Timestamp, GuardrailViolation = 1) AS guardrail,
           maxIf(Status = 'ERROR', IsRoot = 1) AS root_failed,
           anyIf((toString(ErrorClass), StatusMessage, {_OUTPUT}), IsRoot = 1) AS root
    FROM {TRACES_TABLE}
    WHERE Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}} AND {team}
      AND TraceId IN (SELECT TraceId FROM failing)
    GROUP BY TraceId
)
-- One row per group of alike failures: what Python reads grows with the kinds of failure, not their number.
SELECT team, root_agent, current, success, violated, feedback, online, has_step, step_kind, step_name, step_error,
       guardrail, root_failed, root_error, text, count() AS n, min(root_start) AS first, max(root_start) AS last,
       arraySlice(arrayReverseSort(groupArray((root_start, TraceId))), 1, {{examples:UInt32}}) AS examples
FROM (
    SELECT f.TraceId AS TraceId, f.team AS team, f.root_agent AS root_agent, f.root_start AS root_start,
           f.root_start >= {{since:DateTime64(9)}} AS current, f.success AS success, f.violated AS violated,
           f.feedback AS feedback, f.online AS online, s.errors > 0 AS has_step,
           if(has_step, s.step.1, '') AS step_kind, if(has_step, s.step.2, '') AS step_name,
           if(has_step, s.step.3, '') AS step_error, if(f.violated, s.guardrail, '') AS guardrail,
           s.root_failed AS root_failed, if(s.root_failed, s.root.1, '') AS root_error,
           -- The text, numbers out: failures that differ only by an id or an amount read the same.
           replaceRegexpAll(concat(if(has_step, s.step.4, ''), ' ', s.root.2, ' ', s.root.3, ' ', f.comments),
                            '[0-9]+', ' ') AS text
    FROM failing AS f
    LEFT JOIN steps AS s ON f.TraceId = s.TraceId
)
GROUP BY team, root_agent, current, success, violated, feedback, online, has_step, step_kind, step_name,
         step_error, guardrail, root_failed, root_error, text"""
    return sql, params


def _utc(time: datetime) -> datetime:
    return time.replace(tzinfo=timezone.utc) if time.tzinfo is None else time.astimezone(timezone.utc)


def failure_groups(
    store: Store, flt: TaskFilter, scope: Scope = EVERYTHING, *, since: datetime, examples: int
) -> list[FailureGroup]:
    """The failing tasks whose root starts in ``flt``'s window, among those ``scope`` may see, in groups of
    alike ones; ``current`` says whether they start at or after ``since``; up to ``examples`` trace ids each."""
    sql, params = _query(flt, scope)
    params.update({"since": since, "examples": examples})
    out: list[FailureGroup] = []
    for row in store.query(sql, params):
        team, agent, current, success, violated, feedback, online, has_step, kind, name, error = row[:11]
        guardrail, root_failed, root_error, text, count, first, last, found = row[11:]
        signed = signature(
            success=bool(success),
            agent=str(agent),
            step=(str(kind), str(name), str(error)) if has_step else None,
            guardrail=str(guardrail) if violated else None,
            root_error=str(root_error) if root_failed else None,
            online=online.split("\n") if online else [],
            feedback=feedback.split("\n") if feedback else [],
        )
        shown = tuple((_utc(start), str(trace_id)) for start, trace_id in found)
        out.append(
            FailureGroup(
                str(team), str(agent), signed, str(text), bool(current), int(count), _utc(first), _utc(last), shown
            )
        )
    return out
