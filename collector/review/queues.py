"""Review queues in the store: their definitions, the traces each one holds, and the verdicts given.

A queue is a name and an expression (:mod:`tracereel.collector.review.expr`), kept in
``tracereel_review_queues`` (the latest row per name; a removal writes ``Deleted = 1``). Its items
are computed when asked, never copied: the tasks of the last :data:`LOOKBACK` whose per-task facts
(the rollup) and latest scores (``SCORES_FINAL``) match the expression, in the reader's scope,
filtered in SQL. An item is open until someone gives a verdict; the verdict is a row of
``tracereel_reviews`` (expected value, note, the reason the trace was in the queue) and a score
(name ``review``, source ``review:QUEUE``, keyed by queue and trace so reviewing again replaces it).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal

from tracereel.collector.query import (
    SCORES_FINAL,
    Scope,
    TaskFilter,
    UnknownTrace,
    scope_sql,
    store_scores,
    task_filter_sql,
    trace_team,
)
from tracereel.collector.review.expr import CompiledExpr, compile_expr, parse_expr
from tracereel.collector.store import REVIEW_QUEUES_TABLE, REVIEWS_TABLE, ROLLUP_TABLE, Store
from tracereel.contracts.review import REVIEW_SCORE_NAME, ReviewItem, VerdictIn, review_source
from tracereel.contracts.scores import Score, ScoreIn
from tracereel.rules import task_agent_sql

__all__ = [
    "LOOKBACK",
    "NotInQueue",
    "QueueDef",
    "QueueExists",
    "add_queue",
    "find_queue",
    "give_verdict",
    "list_queues",
    "queue_items",
    "remove_queue",
]

# How far back a queue looks for traces: its items are computed from the rollup at read time, and
# a bound keeps that a scan of recent partitions rather than of the whole store.
LOOKBACK: Final = timedelta(days=30)
_AHEAD: Final = timedelta(hours=1)  # clock skew between an agent and the collector

_QUEUE_COLUMNS: Final = ("Name", "Team", "Expr", "CreatedAt", "Deleted", "UpdatedAt")
_REVIEW_COLUMNS: Final = ("Team", "Queue", "TraceId", "Verdict", "Expected", "Note", "Reason", "Author", "Time")
_WRITE_LOCK = threading.Lock()
_AGENT = task_agent_sql("max(RootAgent)", "max(RootVersion)", "min(FirstAgent)")

State = Literal["open", "done"]


class QueueExists(ValueError):
    """A queue of that name exists already (answered with 409)."""


class NotInQueue(LookupError):
    """The trace is not in the queue, or the caller may not see it (answered with 404)."""


@dataclass(frozen=True)
class QueueDef:
    """A stored queue: ``team`` '' for an admin's queue over every team."""

    name: str
    team: str
    when: str
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """The queue as the API answers it (:class:`tracereel.contracts.review.Queue`)."""
        return {"name": self.name, "when": self.when, "team": self.team or None, "created_at": _iso(self.created_at)}


def _utc(time: datetime) -> datetime:
    return time if time.tzinfo else time.replace(tzinfo=timezone.utc)


def _iso(time: datetime) -> str:
    return _utc(time).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def list_queues(store: Store, scope: Scope, *, name: str | None = None) -> list[QueueDef]:
    """The queues ``scope``'s team may see (an admin: all), by name; only ``name`` if given."""
    where, params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None)
    if name is not None:
        where += " AND Name = {name:String}"
        params["name"] = name
    rows = store.query(
        f"SELECT Name, Team, Expr, CreatedAt FROM {REVIEW_QUEUES_TABLE} FINAL "
        f"WHERE Deleted = 0 AND {where} ORDER BY Name",
        params,
    )
    return [QueueDef(str(n), str(t), str(e), _utc(c)) for n, t, e, c in rows]


def find_queue(store: Store, name: str, scope: Scope) -> QueueDef | None:
    """The queue ``name`` if ``scope`` may see it, else None."""
    found = list_queues(store, scope, name=name)
    return found[0] if found else None


def add_queue(store: Store, name: str, when: str, team: str) -> QueueDef:
    """Store a new queue; :class:`~tracereel.collector.review.expr.BadExpression` for a malformed ``when``,
    :class:`QueueExists` if the name is taken (whoever may see it)."""
    expr = parse_expr(when)
    now = datetime.now(timezone.utc)
    with _WRITE_LOCK:
        if find_queue(store, name, Scope()) is not None:
            raise QueueExists(f"a review queue named {name} already exists: remove it first or choose another name")
        store.insert_rows(REVIEW_QUEUES_TABLE, [[name, team, expr.text, now, 0, now]], _QUEUE_COLUMNS)
    return QueueDef(name, team, expr.text, now)


def remove_queue(store: Store, name: str, scope: Scope) -> QueueDef | None:
    """Remove the queue ``name`` if ``scope`` may see it (its verdicts stay); None if there is none."""
    with _WRITE_LOCK:
        queue = find_queue(store, name, scope)
        if queue is None:
            return None
        now = datetime.now(timezone.utc)
        store.insert_rows(
            REVIEW_QUEUES_TABLE, [[queue.name, queue.team, queue.when, queue.created_at, 1, now]], _QUEUE_COLUMNS
        )
        return queue


def _items_sql(
    compiled: CompiledExpr, queue: QueueDef, scope: Scope, state: State | None, trace_id: str | None, limit: int
) -> tuple[str, dict[str, Any]]:
    now = datetime.now(timezone.utc)
    flt = TaskFilter(start=now - LOOKBACK, end=now + _AHEAD)
    where, params = task_filter_sql(flt, scope)
    # The same parameter names as task_filter_sql's team condition, so both read one value.
    team, team_params = scope_sql(Scope(team=scope.team), name="team_scope")
    params.update(team_params)
    params.update(compiled.params)
    params.update({"queue": queue.name, "limit": limit})
    narrow = ""
    if queue.team:
        narrow += " AND Team = {queue_team:String}"
        params["queue_team"] = queue.team
    if trace_id is not None:
        narrow += " AND TraceId = {trace_id:String}"
        params["trace_id"] = trace_id
    judged = [
        "argMaxIf(Value, Time, Source = 'feedback') AS feedback",
        "countIf(Source = 'feedback') > 0 AS has_feedback",
    ]
    for i, name in enumerate(compiled.expr.score_names):
        params[f"score_name_{i}"] = name
        judged.append(f"argMaxIf(Value, Time, Name = {{score_name_{i}:String}}) AS score_{i}")
        judged.append(f"countIf(Name = {{score_name_{i}:String}}) > 0 AS has_score_{i}")
    state_sql = {
        "open": "matched_reason != '' AND Verdict = ''",
        "done": "Verdict != ''",
        None: "(matched_reason != '' OR Verdict != '')",
    }[state]
    order = "reviewed_at DESC, root_start DESC" if state == "done" else "root_start DESC"
    sql = f"""WITH tasks AS (
    SELECT TraceId, max(HasRoot) AS has_root, max(RootStart) AS root_start, max(RootError) AS root_error,
           max(RootSuccess) AS root_success, max(RootService) AS root_service,
           {_AGENT[0]} AS root_agent, {_AGENT[1]} AS root_version,
           max(AnyViolation) AS violated, max(Excluded) AS excluded, max(AnyEscalation) AS escalated
    FROM {ROLLUP_TABLE}
    WHERE Start >= {{lo:DateTime64(9)}} AND Start < {{hi:DateTime64(9)}} AND {team}{narrow}
    GROUP BY TraceId
),
judged AS (
    SELECT TraceId, {", ".join(judged)}
    FROM {SCORES_FINAL}
    WHERE {team}{narrow} AND TraceId IN (SELECT TraceId FROM tasks)
    GROUP BY TraceId
),
reviewed AS (
    SELECT TraceId, Verdict, Expected, Note, Author, Reason, Time AS reviewed_at
    FROM {REVIEWS_TABLE} FINAL
    WHERE Queue = {{queue:String}} AND {team}{narrow}
)
SELECT TraceId, root_start, {compiled.reason_sql} AS matched_reason,
       Verdict, Expected, Note, Author, Reason, reviewed_at
FROM tasks LEFT JOIN judged USING (TraceId) LEFT JOIN reviewed USING (TraceId)
WHERE {where} AND {state_sql}
ORDER BY {order}, TraceId
LIMIT {{limit:UInt32}}"""
    return sql, params


def queue_items(
    store: Store,
    queue: QueueDef,
    scope: Scope,
    state: State | None = "open",
    *,
    trace_id: str | None = None,
    limit: int = 100,
) -> list[ReviewItem]:
    """The queue's items in ``scope``: open (matching, not reviewed), done (reviewed) or, with None, both."""
    compiled = compile_expr(parse_expr(queue.when))
    sql, params = _items_sql(compiled, queue, scope, state, trace_id, limit)
    items: list[ReviewItem] = []
    for trace, start, matched, verdict, expected, note, author, reason, reviewed_at in store.query(sql, params):
        done = bool(verdict)
        items.append(
            ReviewItem(
                trace_id=str(trace),
                reason=str(reason if done else matched),
                time=_iso(start),
                verdict=verdict if done else None,
                expected=json.loads(expected) if done and expected else None,
                note=(note or None) if done else None,
                author=(author or None) if done else None,
                reviewed_at=_iso(reviewed_at) if done else None,
            )
        )
    return items


def give_verdict(
    store: Store, queue: QueueDef, trace_id: str, verdict: VerdictIn, scope: Scope, *, author: str
) -> tuple[ReviewItem, Score]:
    """Record ``verdict`` on ``trace_id`` in ``queue`` (a review row and a ``review`` score), replacing any earlier one.

    :class:`NotInQueue` if the trace is neither in the queue nor reviewed in it, or ``scope`` may not see it.
    """
    found = queue_items(store, queue, scope, None, trace_id=trace_id, limit=1)
    team = trace_team(store, trace_id, scope) if found else None
    if team is None:
        raise NotInQueue(f"trace {trace_id} is not in review queue {queue.name}")
    now = datetime.now(timezone.utc)
    who = verdict.author or author
    score = ScoreIn(
        trace_id=trace_id,
        name=REVIEW_SCORE_NAME,
        value=1.0 if verdict.verdict == "pass" else 0.0,
        label=verdict.verdict,
        comment=verdict.note,
        author=who or None,
        time=now,
        id=f"{review_source(queue.name)}:{trace_id}",
    )
    try:
        stored = store_scores(store, [score], scope, source=review_source(queue.name))
    except UnknownTrace:
        raise NotInQueue(f"trace {trace_id} is not in review queue {queue.name}") from None
    reason = found[0].reason
    store.insert_rows(
        REVIEWS_TABLE,
        [
            [
                team,
                queue.name,
                trace_id,
                verdict.verdict,
                json.dumps(verdict.expected),
                verdict.note or "",
                reason,
                who,
                now,
            ]
        ],
        _REVIEW_COLUMNS,
    )
    item = ReviewItem(
        trace_id=trace_id,
        reason=reason,
        time=found[0].time,
        verdict=verdict.verdict,
        expected=verdict.expected,
        note=verdict.note,
        author=who or None,
        reviewed_at=_iso(now),
    )
    return item, stored[0]
