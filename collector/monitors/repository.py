"""Monitors in the store: definitions, current state and history (tables of migration 0009).

Definitions and state are rewritten, never updated in place: each write is a new row, and reads
take the newest row per key (``FINAL`` on a ReplacingMergeTree), which a server and chDB do alike.
Reads of definitions take a :class:`Scope`, so a team's key sees its team's monitors only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, TypedDict, cast

from tracereel.collector.monitors.definitions import Monitor, MonitorExists, MonitorState, Op, State
from tracereel.collector.query import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import MONITOR_HISTORY_TABLE, MONITOR_STATE_TABLE, MONITORS_TABLE, Store
from tracereel.monitors import Format

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DeliveryView",
    "HistoryEntry",
    "StateView",
    "add_history",
    "add_monitor",
    "find_monitor",
    "list_history",
    "list_monitors",
    "load_states",
    "remove_monitor",
    "save_state_rows",
    "save_states",
    "stamp",
    "state_rows",
]

_MONITOR_COLUMNS: Final = (
    "Name",
    "MonitorId",
    "Team",
    "Metric",
    "Op",
    "Threshold",
    "WindowSeconds",
    "Agent",
    "Version",
    "Service",
    "Dataset",
    "MinTasks",
    "NotifyUrl",
    "Format",
    "RoutingKey",
    "CreatedAt",
    "UpdatedAt",
    "Deleted",
)
_STATE_COLUMNS: Final = (
    "MonitorId",
    "Name",
    "Team",
    "State",
    "Since",
    "LastValue",
    "LastTasks",
    "EvaluatedAt",
    "Incident",
    "DedupKey",
    "Notified",
    "Pending",
    "UpdatedAt",
)
_HISTORY_COLUMNS: Final = (
    "MonitorId",
    "Name",
    "Team",
    "Time",
    "Kind",
    "State",
    "Value",
    "Tasks",
    "Action",
    "DedupKey",
    "Attempt",
    "StatusCode",
    "Outcome",
    "Error",
)
# One check-then-insert at a time, so two posts of one name cannot both be stored.
_WRITE_LOCK = threading.Lock()
_clock_lock = threading.Lock()
_last_version = datetime(1970, 1, 1, tzinfo=timezone.utc)


def stamp() -> datetime:
    """A strictly increasing UTC time (UpdatedAt, history times): the newest row must win even within a microsecond."""
    global _last_version
    with _clock_lock:
        now = datetime.now(timezone.utc)
        _last_version = max(now, _last_version + timedelta(microseconds=1))
        return _last_version


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _EntryFields(TypedDict, total=False):
    """What a :class:`HistoryEntry` may say besides its monitor, time and kind."""

    state: str
    value: float | None
    tasks: int
    action: str
    dedup_key: str
    attempt: int
    status_code: int
    outcome: str
    error: str


class StateView(TypedDict):
    """A change of state as the API shows it (``GET /api/v1/monitors/{name}/history``)."""

    time: str
    kind: str
    state: str
    value: float | None
    tasks: int


class DeliveryView(TypedDict):
    """A delivery attempt as the API shows it; ``status_code`` and ``error`` None when there were none."""

    time: str
    kind: str
    action: str
    dedup_key: str
    attempt: int
    status_code: int | None
    outcome: str
    error: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a monitor's history: a change of state (kind ``state``) or a delivery attempt (``delivery``).

    Delivery outcomes: ``delivered``; ``retrying`` (a connection error, 5xx or 429; tried again
    after a backoff); ``failed`` (another 4xx: permanent, not retried); ``gave_up`` (the last
    attempt failed too); ``skipped`` (nothing was sent, the error says why).
    """

    monitor_id: str
    name: str
    team: str
    time: datetime
    kind: str
    state: str = ""
    value: float | None = None
    tasks: int = 0
    action: str = ""
    dedup_key: str = ""
    attempt: int = 0
    status_code: int = 0
    outcome: str = ""
    error: str = ""

    @classmethod
    def now(cls, monitor: Monitor, kind: str, **fields: Unpack[_EntryFields]) -> HistoryEntry:
        """An entry of ``monitor``'s history stamped now."""
        return cls(monitor.monitor_id, monitor.name, monitor.team, stamp(), kind, **fields)

    def row(self) -> list[object]:
        """The values in the table's column order."""
        return [
            self.monitor_id,
            self.name,
            self.team,
            self.time,
            self.kind,
            self.state,
            self.value,
            self.tasks,
            self.action,
            self.dedup_key,
            self.attempt,
            self.status_code,
            self.outcome,
            self.error,
        ]

    def public(self) -> StateView | DeliveryView:
        """The entry as the API shows it."""
        time = _utc(self.time).isoformat()
        if self.kind == "state":
            return StateView(time=time, kind=self.kind, state=self.state, value=self.value, tasks=self.tasks)
        return DeliveryView(
            time=time,
            kind=self.kind,
            action=self.action,
            dedup_key=self.dedup_key,
            attempt=self.attempt,
            status_code=self.status_code or None,
            outcome=self.outcome,
            error=self.error or None,
        )


def _monitor_row(monitor: Monitor, *, deleted: bool = False) -> list[object]:
    return [
        monitor.name,
        monitor.monitor_id,
        monitor.team,
        monitor.metric,
        monitor.op,
        monitor.threshold,
        monitor.window_seconds,
        monitor.agent,
        monitor.version,
        monitor.service,
        monitor.dataset,
        monitor.min_tasks,
        monitor.notify_url,
        monitor.format,
        monitor.routing_key,
        monitor.created_at,
        stamp(),
        int(deleted),
    ]


def _monitor(row: dict[str, Any]) -> Monitor:  # a row of query_dicts: values typed by the SQL
    return Monitor(
        name=row["Name"],
        monitor_id=row["MonitorId"],
        team=row["Team"],
        metric=row["Metric"],
        op=cast(Op, row["Op"]),
        threshold=float(row["Threshold"]),
        window_seconds=int(row["WindowSeconds"]),
        agent=row["Agent"],
        version=row["Version"],
        service=row["Service"],
        dataset=row["Dataset"],
        min_tasks=int(row["MinTasks"]),
        notify_url=row["NotifyUrl"],
        format=cast(Format, row["Format"]),
        routing_key=row["RoutingKey"],
        created_at=_utc(row["CreatedAt"]),
    )


def list_monitors(store: Store, scope: Scope = EVERYTHING, *, name: str | None = None) -> list[Monitor]:
    """The monitors ``scope`` may see (all of them by default), by name; only ``name`` if given."""
    where, params = scope_sql(scope, team_column="Team", agent_column="Agent", service_column="Service")
    if name is not None:
        where += " AND Name = {name:String}"
        params["name"] = name
    rows = store.query_dicts(
        f"SELECT {', '.join(_MONITOR_COLUMNS)} FROM {MONITORS_TABLE} FINAL WHERE Deleted = 0 AND {where} ORDER BY Name",
        params,
    )
    return [_monitor(row) for row in rows]


def find_monitor(store: Store, name: str, scope: Scope = EVERYTHING) -> Monitor | None:
    """The monitor called ``name`` if ``scope`` may see it, else None."""
    found = list_monitors(store, scope, name=name)
    return found[0] if found else None


def add_monitor(store: Store, monitor: Monitor) -> None:
    """Store a new monitor; :class:`MonitorExists` if one has its name (whoever may see it)."""
    with _WRITE_LOCK:
        if find_monitor(store, monitor.name) is not None:
            raise MonitorExists(
                f"a monitor named {monitor.name} already exists: remove it first "
                f"(tracereel monitor remove {monitor.name}) or choose another name"
            )
        store.insert_rows(MONITORS_TABLE, [_monitor_row(monitor)], _MONITOR_COLUMNS)


def remove_monitor(store: Store, name: str, scope: Scope = EVERYTHING) -> Monitor | None:
    """Remove the monitor ``name`` (if ``scope`` may see it); returns it, or None if there is none."""
    with _WRITE_LOCK:
        monitor = find_monitor(store, name, scope)
        if monitor is None:
            return None
        store.insert_rows(MONITORS_TABLE, [_monitor_row(monitor, deleted=True)], _MONITOR_COLUMNS)
        return monitor


def load_states(store: Store, monitor_ids: Iterable[str]) -> dict[str, MonitorState]:
    """The stored state of each monitor id that has one."""
    ids = list(monitor_ids)
    if not ids:
        return {}
    rows = store.query_dicts(
        f"SELECT {', '.join(_STATE_COLUMNS)} FROM {MONITOR_STATE_TABLE} FINAL WHERE MonitorId IN {{ids:Array(String)}}",
        {"ids": ids},
    )
    return {
        row["MonitorId"]: MonitorState(
            monitor_id=row["MonitorId"],
            name=row["Name"],
            team=row["Team"],
            state=cast(State, row["State"]),
            since=_utc(row["Since"]),
            value=row["LastValue"],
            tasks=int(row["LastTasks"]),
            evaluated_at=_utc(row["EvaluatedAt"]) if row["EvaluatedAt"].year > 1970 else None,
            incident=int(row["Incident"]),
            dedup_key=row["DedupKey"],
            notified=row["Notified"],
            pending=row["Pending"],
        )
        for row in rows
    }


def state_rows(states: Sequence[MonitorState]) -> list[list[Any]]:
    """The rows that store ``states`` as they are now, each stamped now.

    Taken under the lock that guards the states and written after it (:func:`save_state_rows`):
    the newest stamp wins whatever order two writers' inserts land in, so no lock is held across I/O.
    """
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return [
        [
            s.monitor_id,
            s.name,
            s.team,
            s.state,
            s.since,
            s.value,
            s.tasks,
            s.evaluated_at or epoch,
            s.incident,
            s.dedup_key,
            s.notified,
            s.pending,
            stamp(),
        ]
        for s in states
    ]


def save_state_rows(store: Store, rows: Sequence[list[Any]]) -> None:
    """Store rows from :func:`state_rows`, in one INSERT."""
    if rows:
        store.insert_rows(MONITOR_STATE_TABLE, rows, _STATE_COLUMNS)


def save_states(store: Store, states: Sequence[MonitorState]) -> None:
    """Store the current state of each monitor, in one INSERT."""
    save_state_rows(store, state_rows(states))


def add_history(store: Store, entries: Sequence[HistoryEntry]) -> None:
    """Append ``entries`` to their monitors' history, in one INSERT."""
    if entries:
        store.insert_rows(MONITOR_HISTORY_TABLE, [e.row() for e in entries], _HISTORY_COLUMNS)


def list_history(store: Store, monitor: Monitor, *, limit: int = 200) -> list[HistoryEntry]:
    """The newest ``limit`` entries of ``monitor``'s history, newest first."""
    rows = store.query_dicts(
        f"""SELECT {", ".join(_HISTORY_COLUMNS)} FROM {MONITOR_HISTORY_TABLE}
WHERE MonitorId = {{id:String}}
ORDER BY Time DESC
LIMIT {{limit:UInt32}}""",
        {"id": monitor.monitor_id, "limit": limit},
    )
    return [
        HistoryEntry(
            monitor_id=r["MonitorId"],
            name=r["Name"],
            team=r["Team"],
            time=_utc(r["Time"]),
            kind=r["Kind"],
            state=r["State"],
            value=r["Value"],
            tasks=int(r["Tasks"]),
            action=r["Action"],
            dedup_key=r["DedupKey"],
            attempt=int(r["Attempt"]),
            status_code=int(r["StatusCode"]),
            outcome=r["Outcome"],
            error=r["Error"],
        )
        for r in rows
    ]
