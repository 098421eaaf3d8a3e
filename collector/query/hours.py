"""Sealed hours: which hours of a window are read from their sealed states, and sealing them.

A sealed hour (collector/store/hours.py) holds the metric states of the tasks whose root started
in it, per service, agent and version, for one team or for every team (``*``). The metrics read a
window's whole hours from their seals when the seal is current (its signature equals the
activity now) and everything else live, from the per-task rollup; both give the same states, from
the same SQL (collector/query/tasks.py), so the answer is the same either way, only faster.

:func:`seal_hours` (the collector runs it every ``seal_interval`` seconds) seals the hours old enough
that no span of their tasks is expected any more, newest first, and seals again an hour whose
seal went stale (a late span, a new score, a deletion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.tasks import RUN_AFTER, SKEW_BEFORE, STATES_SQL, TaskFilter, task_rows_query
from tracereel.collector.store import (
    ACTIVITY_HOURS_AFTER,
    ACTIVITY_HOURS_BEFORE,
    ACTIVITY_TABLE,
    CHANGES_KEPT_HOURS,
    CHANGES_TABLE,
    HOURS_TABLE,
    ROLLUP_TABLE,
    SEAL_CHECKS_TABLE,
    STATE_COLUMNS,
    Store,
)

__all__ = ["CHECK_MARGIN", "EVERY_TEAM", "SEAL_DELAY", "HourPlan", "plan_hours", "seal_hours", "sealed_states_sql"]

EVERY_TEAM: Final = "*"
_HOUR: Final = timedelta(hours=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
# An hour is sealed this long after it ends: most of its tasks have ended by then; a later change seals it again.
SEAL_DELAY: Final = timedelta(minutes=10)
# On a ClickHouse server, a change stored this long before a seal or a check may not have been visible to it yet
# (another client's insert in flight): it counts as after. The embedded store runs one statement at a time, so an
# insert stamped before a seal has finished before the seal reads.
CHECK_MARGIN: Final = timedelta(seconds=30)
# A seal last known current longer ago than this is not checked against the changes (they may be gone).
_CHANGES_CHECKED: Final = timedelta(hours=CHANGES_KEPT_HOURS - 1)
_STATE_NAMES: Final = ", ".join(name for name, _ in STATE_COLUMNS)


@dataclass(frozen=True)
class HourPlan:
    """How to read a window: the current seals to use, (hour, sealed at), and the root-start ranges read live."""

    team: str
    sealed: list[tuple[datetime, datetime]]
    live: list[tuple[datetime, datetime]]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _floor_hour(value: datetime) -> datetime:
    return _utc(value).replace(minute=0, second=0, microsecond=0)


def _team_key(scope: Scope) -> str:
    return EVERY_TEAM if scope.team is None else scope.team


def _activity(store: Store, lo: datetime, hi: datetime) -> dict[datetime, int]:
    rows = store.query(
        f"SELECT Hour, sum(Changes) FROM {ACTIVITY_TABLE} "
        "WHERE Hour >= {lo:DateTime('UTC')} AND Hour < {hi:DateTime('UTC')} GROUP BY Hour",
        {"lo": lo, "hi": hi},
    )
    return {_utc(hour): int(changes) for hour, changes in rows}


def _signature(activity: dict[datetime, int], hour: datetime) -> int:
    """The sum of the activity of the hours that can hold data of ``hour``'s tasks (it only grows)."""
    return sum(activity.get(hour + k * _HOUR, 0) for k in range(-ACTIVITY_HOURS_BEFORE, ACTIVITY_HOURS_AFTER + 1))


def _live_ranges(start: datetime, end: datetime, sealed: list[datetime]) -> list[tuple[datetime, datetime]]:
    """[start, end) without the ``sealed`` hours, as ordered half-open ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    cursor = start
    for hour in sorted(sealed):
        if hour > cursor:
            ranges.append((cursor, hour))
        cursor = max(cursor, hour + _HOUR)
    if cursor < end:
        ranges.append((cursor, end))
    return ranges


@dataclass(frozen=True)
class _Seal:
    """A (team, hour)'s newest seal: when it was made, and the activity it was last known current with, and when."""

    sealed_at: datetime
    signature: int
    checked_at: datetime


def _seals(store: Store, teams: list[str] | None, first: datetime, last: datetime) -> dict[tuple[str, datetime], _Seal]:
    """The newest seal of each (team, hour) in [first, last), with its newest check (``teams`` None: every team)."""
    team = "1" if teams is None else "Team IN {seal_teams:Array(String)}"
    rows = store.query(
        f"""SELECT s.team, s.hour, s.sealed_at, s.signature, c.signature, c.checked_at
FROM (
    SELECT Team AS team, Hour AS hour, max(SealedAt) AS sealed_at, argMax(Signature, SealedAt) AS signature
    FROM {HOURS_TABLE}
    WHERE {team} AND Hour >= {{first:DateTime('UTC')}} AND Hour < {{last:DateTime('UTC')}} GROUP BY Team, Hour
) AS s
LEFT JOIN (
    SELECT Team AS team, Hour AS hour, SealedAt AS sealed_at, argMax(Signature, CheckedAt) AS signature,
           max(CheckedAt) AS checked_at
    FROM {SEAL_CHECKS_TABLE}
    WHERE {team} AND Hour >= {{first:DateTime('UTC')}} AND Hour < {{last:DateTime('UTC')}}
    GROUP BY Team, Hour, SealedAt
) AS c ON s.team = c.team AND s.hour = c.hour AND s.sealed_at = c.sealed_at""",
        {"seal_teams": teams or [], "first": first, "last": last},
    )
    seals: dict[tuple[str, datetime], _Seal] = {}
    for team_key, hour, sealed_at, signature, checked_signature, checked_at in rows:
        sealed, checked = _utc(sealed_at), _utc(checked_at)
        if checked > sealed:
            seals[(str(team_key), _utc(hour))] = _Seal(sealed, int(checked_signature), checked)
        else:
            seals[(str(team_key), _utc(hour))] = _Seal(sealed, int(signature), sealed)
    return seals


def _changed_hours(store: Store, since: datetime) -> dict[datetime, datetime]:
    """Per hour, when a task rooted in it last changed (a span, a score, a deletion), among the changes since ``since``.

    A change with its root names its hour; one without (a span exported before its root, a score) is its trace's
    root's hour, from the rollup; one whose trace has no root stored yet changes no task (its root will).
    """
    rows = store.query(
        f"""SELECT Hour, max(At) FROM (
    SELECT toStartOfHour(toDateTime(RootStart, 'UTC')) AS Hour, InsertedAt AS At FROM {CHANGES_TABLE}
    WHERE InsertedAt >= {{since:DateTime64(6, 'UTC')}} AND HasRoot = 1
    UNION ALL
    SELECT toStartOfHour(toDateTime(r.RootStart, 'UTC')) AS Hour, c.At AS At
    FROM (
        SELECT TraceId, max(InsertedAt) AS At FROM {CHANGES_TABLE}
        WHERE InsertedAt >= {{since:DateTime64(6, 'UTC')}} AND HasRoot = 0 GROUP BY TraceId
    ) AS c
    INNER JOIN (
        SELECT TraceId, max(RootStart) AS RootStart FROM {ROLLUP_TABLE}
        WHERE HasRoot = 1 AND TraceId IN (
            SELECT TraceId FROM {CHANGES_TABLE} WHERE InsertedAt >= {{since:DateTime64(6, 'UTC')}} AND HasRoot = 0
        )
        GROUP BY TraceId
    ) AS r ON c.TraceId = r.TraceId
) GROUP BY Hour""",
        {"since": since},
    )
    return {_utc(hour): _utc(at) for hour, at in rows}


def _current(
    store: Store, seals: dict[tuple[str, datetime], _Seal], activity: dict[datetime, int]
) -> set[tuple[str, datetime]]:
    """The seals still current: their activity has not moved since they were last known current, or it moved
    but none of their hour's tasks changed since (the changes kept say so trace by trace)."""
    # The changes and the checks are stamped by the clock, whatever time a caller reasons about.
    kept_since = datetime.now(timezone.utc) - _CHANGES_CHECKED
    current: set[tuple[str, datetime]] = set()
    moved: dict[tuple[str, datetime], _Seal] = {}
    for key, seal in seals.items():
        if _signature(activity, key[1]) == seal.signature:
            current.add(key)
        elif seal.checked_at >= kept_since:
            moved[key] = seal
    if moved:
        margin = timedelta(0) if store.embedded else CHECK_MARGIN
        changed = _changed_hours(store, min(seal.checked_at for seal in moved.values()) - margin)
        current.update(
            key for key, seal in moved.items() if key[1] not in changed or changed[key[1]] < seal.checked_at - margin
        )
    return current


def plan_hours(store: Store, flt: TaskFilter, scope: Scope, bucket_seconds: int | None = None) -> HourPlan:
    """Which whole hours of ``flt``'s window have a current seal for ``scope``'s team, and what is read live.

    With ``bucket_seconds`` that is not a whole number of hours, nothing is sealed (an hour would
    straddle buckets).
    """
    team = _team_key(scope)
    start, end = _utc(flt.start), _utc(flt.end)
    everything = HourPlan(team, [], [(start, end)])
    first = _floor_hour(start) + (_HOUR if _floor_hour(start) < start else timedelta(0))
    last = _floor_hour(end)
    if first >= last or (bucket_seconds is not None and bucket_seconds % 3600):
        return everything
    seals = _seals(store, [team], first, last)
    if not seals:
        return everything
    activity = _activity(store, first - ACTIVITY_HOURS_BEFORE * _HOUR, last + (ACTIVITY_HOURS_AFTER + 1) * _HOUR)
    current = _current(store, seals, activity)
    sealed = sorted((hour, seals[(key, hour)].sealed_at) for key, hour in current)
    return HourPlan(team, sealed, _live_ranges(start, end, [hour for hour, _ in sealed]))


def sealed_states_sql(flt: TaskFilter, scope: Scope, group: str, plan: HourPlan) -> tuple[str, dict[str, Any]]:
    """SQL: the sealed states of ``plan``'s current seals, per ``group`` (an expression over the sealed columns),
    for the tasks ``flt``'s filters and ``scope``'s globs select; columns as ``STATES_SQL``'s."""
    where = [
        "Team = {sealed_team:String}",
        "has(arrayZip({sealed_hours:Array(DateTime('UTC'))}, {sealed_at:Array(DateTime64(6, 'UTC'))}), "
        "(Hour, SealedAt))",
    ]
    params: dict[str, Any] = {
        "sealed_team": plan.team,
        "sealed_hours": [hour for hour, _ in plan.sealed],
        "sealed_at": [sealed_at for _, sealed_at in plan.sealed],
    }
    for column, name, value in (
        ("Service", "service", flt.service),
        ("Agent", "agent", flt.agent),
        ("Version", "version", flt.version),
    ):
        if value:
            where.append(f"{column} = {{sealed_{name}:String}}")
            params[f"sealed_{name}"] = value
    globs, glob_params = scope_sql(
        Scope(agents=scope.agents, services=scope.services),
        team_column=None,
        agent_column="Agent",
        service_column="Service",
        name="sealed_scope",
    )
    where.append(globs)
    params.update(glob_params)
    return f"SELECT {group} AS grp, {_STATE_NAMES} FROM {HOURS_TABLE} WHERE {' AND '.join(where)}", params


def _seal(store: Store, hour: datetime, scope: Scope | None, keys: list[str], signature: int) -> None:
    """Seal ``hour`` at ``signature`` (read before the states are) under each team key of ``keys``, with the
    states of ``scope``'s tasks (the same states for every key: a team alone in its hours is also every team);
    ``scope`` None: the keys' teams have no task there."""
    sealed_at = datetime.now(timezone.utc)
    params: dict[str, Any] = {"seal_keys": keys, "seal_hour": hour, "sealed_at": sealed_at, "signature": signature}
    columns = f"Team, Hour, SealedAt, Signature, Service, Agent, Version, {_STATE_NAMES}"
    if scope is not None:
        with_tasks, task_params = task_rows_query(
            None, None, TaskFilter(start=hour, end=hour + _HOUR), scope, scored=True
        )
        params.update(task_params)
        store.command(
            f"""INSERT INTO {HOURS_TABLE} ({columns})
{with_tasks}SELECT key, {{seal_hour:DateTime('UTC')}}, {{sealed_at:DateTime64(6, 'UTC')}}, {{signature:UInt64}},
       * EXCEPT key
FROM (
    SELECT root_service, root_agent, root_version, {STATES_SQL}
    FROM scored_rows
    GROUP BY root_service, root_agent, root_version
)
ARRAY JOIN {{seal_keys:Array(String)}} AS key""",
            parameters=params,
        )
    # The seal itself, even of an hour without tasks: a row of no task (every state empty) per key.
    store.command(
        f"INSERT INTO {HOURS_TABLE} (Team, Hour, SealedAt, Signature, Service, Agent, Version, Tasks) "
        "SELECT arrayJoin({seal_keys:Array(String)}), {seal_hour:DateTime('UTC')}, "
        "{sealed_at:DateTime64(6, 'UTC')}, {signature:UInt64}, '', '', '', 0",
        parameters=params,
    )


def _record_checks(store: Store, checks: list[tuple[str, datetime, datetime, int]], checked_at: datetime) -> None:
    """Record each (team, hour, sealed at, signature) of ``checks`` as found current at ``checked_at``."""
    if checks:
        store.insert_rows(
            SEAL_CHECKS_TABLE,
            [[team, hour, sealed_at, checked_at, signature] for team, hour, sealed_at, signature in checks],
            ["Team", "Hour", "SealedAt", "CheckedAt", "Signature"],
        )


def seal_hours(store: Store, now: datetime | None = None, limit: int = 24) -> int:
    """Seal (or seal again) up to ``limit`` hours that need it, newest first; returns how many.

    An hour is sealed ``SEAL_DELAY`` after its end, and sealed again when one of its tasks changes after that
    (a span, a score, a deletion). A seal whose activity moved while none of its tasks changed is recorded
    current at this pass's activity, so readers check only the changes since. An hour is sealed for every team
    together (``*``) and for each team with tasks since the oldest such hour; a team alone in an hour's rows
    shares the computation with ``*``.
    """
    now = _utc(now or datetime.now(timezone.utc))
    horizon = _floor_hour(now - SEAL_DELAY)
    # Before the activity is read: a check says the seal was current with the activity as of then.
    checked_at = datetime.now(timezone.utc)
    activity = _activity(store, _EPOCH, horizon + (ACTIVITY_HOURS_AFTER + 1) * _HOUR)
    # A task's rows start at most 5 minutes before its root: its hour has activity, or the hour after it.
    hours = sorted({h for hour in activity for h in (hour, hour - _HOUR) if h < horizon}, reverse=True)
    if not hours:
        return 0
    teams = [EVERY_TEAM] + [
        str(row[0])
        for row in store.query(
            f"SELECT DISTINCT Team FROM {ROLLUP_TABLE} WHERE Start >= {{lo:DateTime64(9)}} ORDER BY Team",
            {"lo": hours[-1] - _HOUR},
        )
    ]
    seals = _seals(store, None, hours[-1], horizon)
    current = _current(store, seals, activity)
    _record_checks(
        store,
        [
            (team, hour, seals[(team, hour)].sealed_at, _signature(activity, hour))
            for team, hour in current
            if seals[(team, hour)].signature != _signature(activity, hour)
        ],
        checked_at,
    )
    sealed = 0
    for hour in hours:
        signature = _signature(activity, hour)
        stale = [team for team in teams if (team, hour) not in current]
        if not stale:
            continue
        # The teams with rows that can belong to the hour's tasks (as the per-task SQL reads them).
        present = [
            str(row[0])
            for row in store.query(
                f"SELECT DISTINCT Team FROM {ROLLUP_TABLE} "
                "WHERE Start >= {lo:DateTime64(9)} AND Start < {hi:DateTime64(9)}",
                {"lo": hour - SKEW_BEFORE, "hi": hour + _HOUR + RUN_AFTER},
            )
        ]
        if len(present) <= 1:
            _seal(store, hour, EVERYTHING, [t for t in stale if t in (EVERY_TEAM, *present)], signature)
            absent = [t for t in stale if t not in (EVERY_TEAM, *present)]
        else:
            for team in stale:
                if team == EVERY_TEAM or team in present:
                    _seal(store, hour, EVERYTHING if team == EVERY_TEAM else Scope(team=team), [team], signature)
            absent = [t for t in stale if t != EVERY_TEAM and t not in present]
        if absent:
            _seal(store, hour, None, absent, signature)
        sealed += 1
        if sealed >= limit:
            return sealed
    return sealed
