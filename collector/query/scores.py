"""Scores: storing the judgements posted about traces, and reading a trace's back (DESIGN.md "Production loop").

Every judgement is a row of ``tracereel_scores``: the SDK's (copied from its spans by the store's
view), feedback, online rules, reviews and the API. A score's id is its key, and the latest row
per id is the score, so a retried post replaces itself. A score belongs to its trace's team:
a key may score only traces it may see, and another team's trace is "not found", like an unknown one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Final

from tracereel.collector.query.scope import Scope, scope_sql
from tracereel.collector.query.traces import trace_teams
from tracereel.collector.store import SCORES_FINAL, SCORES_TABLE, TRACE_ID_TS_TABLE, Store
from tracereel.contracts.scores import Score, ScoreIn

__all__ = ["SCORES_FINAL", "UnknownTrace", "store_scores", "trace_scores"]

_COLUMNS: Final = (
    "ScoreId",
    "Team",
    "TraceId",
    "Name",
    "Value",
    "Label",
    "Comment",
    "Source",
    "Author",
    "Time",
    "TraceStart",
)


class UnknownTrace(LookupError):
    """A score names a trace the store does not hold, or one the key may not see (answered with 404)."""

    def __init__(self, trace_id: str) -> None:
        super().__init__(f"no trace with id {trace_id} in the store")
        self.trace_id = trace_id


def _iso(time: datetime) -> str:
    return time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _default_id(score: ScoreIn, source: str) -> str:
    # Feedback and SDK scores without an id get a fresh one: each is a separate judgement.
    # An online rule's score is keyed by what it judges, so a rescored trace replaces its score.
    if source.startswith("online:"):
        digest = hashlib.sha256(f"{source}\0{score.trace_id}\0{score.name}".encode()).hexdigest()[:32]
        return f"{source}:{digest}"
    return uuid.uuid4().hex


def store_scores(store: Store, scores: Sequence[ScoreIn], scope: Scope, *, source: str | None = None) -> list[Score]:
    """Store ``scores`` (all or none) and answer them as stored.

    Each must name a trace ``scope`` may see, else :class:`UnknownTrace` and nothing is stored.
    ``source`` overrides what each score says (the review route writes ``review:QUEUE``).
    """
    # One lookup for the batch (the evaluator posts hundreds of traces' scores at once).
    teams = trace_teams(store, [score.trace_id for score in scores], scope)
    for score in scores:
        if score.trace_id not in teams:
            raise UnknownTrace(score.trace_id)
    # Each score is kept with its trace's start, by which the metrics find an hour's scores (migration 0022).
    starts = dict(
        store.query(
            f"SELECT TraceId, min(Start) FROM {TRACE_ID_TS_TABLE} "
            "WHERE TraceId IN {ids:Array(String)} GROUP BY TraceId",
            {"ids": list(teams)},
        )
    )
    now = datetime.now(timezone.utc)
    rows: list[list[Any]] = []
    answer: list[Score] = []
    for score in scores:
        origin = source or score.source
        score_id = score.id or _default_id(score, origin)
        time = (score.time or now).astimezone(timezone.utc)
        value = float(score.value)
        rows.append(
            [
                score_id,
                teams[score.trace_id],
                score.trace_id,
                score.name,
                value,
                score.label,
                score.comment or "",
                origin,
                score.author or "",
                time,
                starts[score.trace_id].replace(tzinfo=timezone.utc) if score.trace_id in starts else time,
            ]
        )
        answer.append(
            {
                "id": score_id,
                "trace_id": score.trace_id,
                "name": score.name,
                "value": value,
                "label": score.label,
                "comment": score.comment,
                "source": origin,
                "author": score.author,
                "time": _iso(time),
            }
        )
    if rows:
        store.insert_rows(SCORES_TABLE, rows, _COLUMNS)
    return answer


def trace_scores(store: Store, trace_id: str, scope: Scope) -> list[Score]:
    """The scores of one trace in ``scope``'s team, oldest first (the caller has checked the trace is visible).

    A score keeps its trace's start (migration 0022: the span's for the SDK's, the trace-id lookup's for
    the others), which lies within the lookup's bounds of the trace; only the scores there are read (the
    table's projection by trace start), not the table's part for every trace of the team.
    """
    team, params = scope_sql(Scope(team=scope.team))
    # One scalar lookup of both bounds: each scalar subquery is a read of the lookup table of its own.
    bounds = f"(SELECT (min(Start), max(End)) FROM {TRACE_ID_TS_TABLE} WHERE TraceId = {{id:String}})"
    where = (
        f"TraceId = {{id:String}} AND {team} "
        f"AND TraceStart >= toDateTime64({bounds}.1, 6, 'UTC') "
        f"AND TraceStart < toDateTime64({bounds}.2 + 1, 6, 'UTC')"
    )
    # Each score is its id's newest row, what FINAL would keep, without merging the whole table's parts.
    rows = store.query(
        f"""SELECT ScoreId, s.1, s.2, s.3, s.4, s.5, s.6, time
FROM (
    SELECT ScoreId, argMax((Name, Value, Label, Comment, Source, Author), Time) AS s, max(Time) AS time
    FROM {SCORES_TABLE}
    WHERE {where}
    GROUP BY Team, ScoreId
)
ORDER BY time, ScoreId""",
        {"id": trace_id, **params},
    )
    return [
        {
            "id": str(score_id),
            "trace_id": trace_id,
            "name": str(name),
            "value": float(value),
            "label": label,
            "comment": comment or None,
            "source": str(source),
            "author": author or None,
            "time": _iso(time if time.tzinfo else time.replace(tzinfo=timezone.utc)),
        }
        for score_id, name, value, label, comment, source, author, time in rows
    ]
