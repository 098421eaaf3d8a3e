"""Online rules in the store (migration 0017), their progress, and the work they leave to the evaluator.

The collector stores rules and answers what is left to score; it never runs a scorer (user code
runs in ``tracereel evaluator`` only). A trace waits for a rule when it is finished (its root
span ended ``settle`` seconds ago or more, after the rule was added less its backfill), is the agents' own traffic
(not a replay or an eval case run), matches the rule's agent and version, is in the rule's
sample (:func:`tracereel.online.sampled_sql`) and has no score of source ``online:RULE`` yet.
A rule belongs to the team of the key that added it ('' for a team-less admin: every team's
traces) and sees only that team's traces and scores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final, cast

from tracereel import semconv as sc
from tracereel.collector.query.scope import EVERYTHING, Scope, glob_to_like, scope_sql
from tracereel.collector.store import ONLINE_RULES_TABLE, SCORES_TABLE, TRACES_TABLE, Store
from tracereel.contracts.online import RuleDefinition, RuleProgress, RuleView
from tracereel.online import sampled_sql, shard_sql, source_of
from tracereel.traces import SpanJSON

__all__ = [
    "RuleExists",
    "StoredRule",
    "add_rule",
    "find_rule",
    "list_rules",
    "pending_traces",
    "remove_rule",
    "rule_progress",
]

_COLUMNS: Final = (
    "Name",
    "Team",
    "Scorers",
    "Agent",
    "Version",
    "Sample",
    "Rubric",
    "BackfillSeconds",
    "CreatedAt",
    "UpdatedAt",
    "Deleted",
)
# One check-then-insert at a time, so two posts of one name cannot both be stored.
_WRITE_LOCK = threading.Lock()
_last_stamp = datetime(1970, 1, 1, tzinfo=timezone.utc)


class RuleExists(Exception):
    """A rule with this name already exists (answered with 409)."""


def _stamp() -> datetime:
    # Strictly increasing (called under _WRITE_LOCK): a removal must win over the add before it.
    global _last_stamp
    _last_stamp = max(datetime.now(timezone.utc), _last_stamp + timedelta(microseconds=1))
    return _last_stamp


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoredRule:
    """A rule as stored: its definition, team and creation time."""

    name: str
    team: str
    scorers: tuple[str, ...]
    agent: str
    version: str
    sample: float
    rubric: str
    backfill_seconds: int
    created_at: datetime

    @property
    def since(self) -> datetime:
        """Traces that ended before this are not the rule's: its creation, less its backfill."""
        return self.created_at - timedelta(seconds=self.backfill_seconds)

    def public(self) -> RuleView:
        """The rule as the API shows it."""
        return RuleView(
            name=self.name,
            scorers=list(self.scorers),
            agent=self.agent or None,
            version=self.version or None,
            sample=self.sample,
            rubric=self.rubric or None,
            backfill_seconds=self.backfill_seconds,
            team=self.team,
            created_at=self.created_at.isoformat(),
        )

    def row(self, *, deleted: bool = False) -> list[object]:
        """The values in the table's column order, stamped now."""
        return [
            self.name,
            self.team,
            list(self.scorers),
            self.agent,
            self.version,
            self.sample,
            self.rubric,
            self.backfill_seconds,
            self.created_at,
            _stamp(),
            int(deleted),
        ]


def _rule(row: dict[str, Any]) -> StoredRule:  # a row of query_dicts: values typed by the SQL
    return StoredRule(
        name=row["Name"],
        team=row["Team"],
        scorers=tuple(cast(list[str], row["Scorers"])),
        agent=row["Agent"],
        version=row["Version"],
        sample=float(row["Sample"]),
        rubric=row["Rubric"],
        backfill_seconds=int(row["BackfillSeconds"]),
        created_at=_utc(row["CreatedAt"]),
    )


def list_rules(store: Store, scope: Scope = EVERYTHING, *, name: str | None = None) -> list[StoredRule]:
    """The rules ``scope`` may see (its team's; agent globs against the rule's agent), by name."""
    # Rules name no service: a key narrowed to services sees its team's rules.
    where, params = scope_sql(Scope(team=scope.team, agents=scope.agents), agent_column="Agent", service_column=None)
    if name is not None:
        where += " AND Name = {name:String}"
        params["name"] = name
    rows = store.query_dicts(
        f"SELECT {', '.join(_COLUMNS)} FROM {ONLINE_RULES_TABLE} FINAL WHERE Deleted = 0 AND {where} ORDER BY Name",
        params,
    )
    return [_rule(row) for row in rows]


def find_rule(store: Store, name: str, scope: Scope = EVERYTHING) -> StoredRule | None:
    """The rule called ``name`` if ``scope`` may see it, else None."""
    found = list_rules(store, scope, name=name)
    return found[0] if found else None


def add_rule(store: Store, definition: RuleDefinition, team: str) -> StoredRule:
    """Store a new rule of ``team``; :class:`RuleExists` if one has its name (whoever may see it)."""
    rule = StoredRule(
        name=definition.name,
        team=team,
        scorers=tuple(definition.scorers),
        agent=definition.agent or "",
        version=definition.version or "",
        sample=definition.sample,
        rubric=definition.rubric or "",
        backfill_seconds=definition.backfill_seconds,
        created_at=datetime.now(timezone.utc),
    )
    with _WRITE_LOCK:
        if find_rule(store, rule.name) is not None:
            raise RuleExists(
                f"an online rule named {rule.name} already exists: remove it first "
                f"(tracereel online remove {rule.name}) or choose another name"
            )
        store.insert_rows(ONLINE_RULES_TABLE, [rule.row()], _COLUMNS)
    return rule


def remove_rule(store: Store, name: str, scope: Scope = EVERYTHING) -> StoredRule | None:
    """Remove the rule ``name`` (if ``scope`` may see it); returns it, or None if there is none. Its scores stay."""
    with _WRITE_LOCK:
        rule = find_rule(store, name, scope)
        if rule is None:
            return None
        store.insert_rows(ONLINE_RULES_TABLE, [rule.row(deleted=True)], _COLUMNS)
        return rule


def _team(rule: StoredRule) -> tuple[str, dict[str, Any]]:
    # A team-less admin's rule judges every team's traffic; a team's rule its own only.
    return scope_sql(Scope(team=rule.team or None), name="rule_scope")


def _waiting(
    rule: StoredRule,
    settle: float,
    shard: tuple[int, int],
    scope: Scope = EVERYTHING,
    after: tuple[int, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SELECT of (TraceId, start_ns, end_ns) of the traces waiting for ``rule``, one row per trace.

    ``scope``: the reading key's, which may be narrower than the rule's team (agent or service globs).
    """
    team, params = _team(rule)
    visible, visible_params = scope_sql(scope, name="key_scope")
    params.update(visible_params)
    sample, sample_params = sampled_sql("rule", rule.sample)
    split, split_params = shard_sql(*shard)
    end = "toUnixTimestamp64Nano(Timestamp) + Duration"
    where = [
        "IsRoot = 1",
        # Children start inside their root: an hour of slack for a task that began before the rule.
        "Timestamp >= {since:DateTime64(9)} - INTERVAL 1 HOUR",
        f"{end} >= toUnixTimestamp64Nano({{since:DateTime64(9)}})",
        f"{end} <= toUnixTimestamp64Nano(now64(9)) - {{settle_ns:Int64}}",
        team,
        visible,
        sample,
        split,
        *(f"SpanAttributes['{k}'] = ''" for k in (sc.REPLAY_OF, sc.EVAL_RUN_ID)),
        f"TraceId NOT IN (SELECT TraceId FROM {SCORES_TABLE} WHERE Source = {{source:String}} AND {team})",
    ]
    params.update(sample_params)
    params.update(split_params)
    params.update(
        {"since": rule.since, "settle_ns": int(settle * 1e9), "rule": rule.name, "source": source_of(rule.name)}
    )
    if after is not None:
        # A page after the last one (its scores may still be on their way): (end, id) order.
        where.append(f"({end}, TraceId) > ({{after_end:Int64}}, {{after_id:String}})")
        params.update({"after_end": after[0], "after_id": after[1]})
    if rule.agent:
        where.append("AgentName LIKE {agent:String}")
        params["agent"] = glob_to_like(rule.agent)
    if rule.version:
        where.append("AgentVersion = {version:String}")
        params["version"] = rule.version
    sql = f"""SELECT TraceId, toUnixTimestamp64Nano(Timestamp) AS start_ns, {end} AS end_ns
FROM {TRACES_TABLE}
WHERE {" AND ".join(where)}
ORDER BY end_ns, TraceId
LIMIT 1 BY TraceId"""
    return sql, params


def rule_progress(store: Store, rule: StoredRule, *, settle: float = 1.0) -> RuleProgress:
    """How many traces ``rule`` scored, how many of its scores are errors, and what waits (count, age)."""
    team, params = _team(rule)
    scored = store.query(
        f"""SELECT uniqExact(TraceId), countIf(Label = 'error') FROM {SCORES_TABLE} FINAL
WHERE Source = {{source:String}} AND {team}""",
        {**params, "source": source_of(rule.name)},
    )
    waiting, waiting_params = _waiting(rule, settle, (0, 1))
    pending = store.query(
        f"SELECT count(), min(end_ns), toUnixTimestamp64Nano(now64(9)) FROM ({waiting})", waiting_params
    )
    count, oldest, now = pending[0]
    lag = max(0.0, (int(now) - int(oldest)) / 1e9) if int(count) else 0.0
    return RuleProgress(
        scored=int(scored[0][0]), errors=int(scored[0][1]), pending=int(count), lag_seconds=round(lag, 3)
    )


def pending_traces(
    store: Store,
    rule: StoredRule,
    *,
    limit: int,
    shard: tuple[int, int] = (0, 1),
    settle: float = 1.0,
    scope: Scope = EVERYTHING,
    after: tuple[int, str] | None = None,
) -> list[dict[str, Any]]:
    """The oldest ``limit`` traces waiting for ``rule`` in ``shard`` (K, N), each with its spans, oldest end first.

    Spans carry what scorers read (names, kinds, statuses, attributes), not events, links or costs.
    ``after`` (end in ns, trace id) starts after that trace, in the same (end, id) order.
    """
    waiting, params = _waiting(rule, settle, shard, scope, after)
    heads = store.query(f"{waiting}\nLIMIT {{limit:UInt32}}", {**params, "limit": limit})
    if not heads:
        return []
    ids = [str(h[0]) for h in heads]
    lo = datetime.fromtimestamp(min(int(h[1]) for h in heads) / 1e9, tz=timezone.utc) - timedelta(hours=1)
    hi = datetime.fromtimestamp(max(int(h[2]) for h in heads) / 1e9, tz=timezone.utc) + timedelta(hours=1)
    team, team_params = _team(rule)
    rows = store.query_dicts(
        f"""SELECT TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_span_id, SpanName AS name,
       Kind AS kind, toUnixTimestamp64Nano(Timestamp) AS start_time_unix_nano, Duration AS duration_ns,
       Status AS status_code, StatusMessage AS status_message, ServiceName AS service_name,
       SpanAttributes AS attributes
FROM {TRACES_TABLE}
WHERE TraceId IN {{ids:Array(String)}} AND {team}
  AND Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}}
ORDER BY Timestamp, SpanId
LIMIT 1 BY TraceId, SpanId""",
        {"ids": ids, "lo": lo, "hi": hi, **team_params},
    )
    spans: dict[str, list[SpanJSON]] = {trace_id: [] for trace_id in ids}
    for row in rows:
        spans[row.pop("trace_id")].append(cast(SpanJSON, row))
    return [{"trace_id": str(h[0]), "end_unix_nano": int(h[2]), "spans": spans[str(h[0])]} for h in heads]
