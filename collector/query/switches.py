"""Kill switches: flipping one (kill or revive) and reading the ones in force, within a reader's scope.

A switch is (team, agent, version, service); '' in team, version or service means "every". Each
flip is a new row of ``tracereel_switches`` (the history is kept); a switch's state is its latest
row. The SDK reads the killed ones (``GET /api/v1/switches``) and stops calls that match.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from tracereel.collector.query.scope import Scope, scope_sql
from tracereel.collector.store import SWITCHES_TABLE, Store
from tracereel.contracts.switches import MAX_NAME, MAX_REASON

__all__ = [
    "MAX_NAME",
    "MAX_REASON",
    "SwitchKey",
    "current_switches",
    "flip_count",
    "flip_switch",
    "switch_state",
    "switches_version",
]


State = Literal["killed", "revived"]

# One flip at a time in this process, so each gets a distinct, increasing ChangedAt (the latest
# row wins, and two flips within one microsecond would otherwise tie).
_WRITE_LOCK = threading.Lock()
_last_change: list[datetime] = [datetime.fromtimestamp(0, timezone.utc)]


@dataclass(frozen=True)
class SwitchKey:
    """Which calls a switch stops: ``agent`` always; '' team/version/service stand for every one."""

    agent: str
    version: str = ""
    service: str = ""
    team: str = ""

    def label(self) -> str:
        """How messages and the audit log name the switch: ``agent[@version][ on service][ (team T)]``."""
        out = self.agent + (f"@{self.version}" if self.version else "")
        if self.service:
            out += f" on {self.service}"
        if self.team:
            out += f" (team {self.team})"
        return out


_LATEST = f"""SELECT Team AS team, AgentName AS agent, AgentVersion AS version, ServiceName AS service,
       argMax(State, ChangedAt) AS state, argMax(Reason, ChangedAt) AS reason,
       max(ChangedAt) AS changed_at, argMax(KeyId, ChangedAt) AS key_id
FROM {SWITCHES_TABLE}
WHERE {{where}}
GROUP BY Team, AgentName, AgentVersion, ServiceName"""


def _switch_scope_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The scope as a condition on switches: a reader sees its team's switches and the global ones
    (Team ''), for its agents, and for its services or every service (ServiceName '')."""
    team, team_params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None, name="sw_team")
    agents, agent_params = scope_sql(Scope(agents=scope.agents), team_column=None, service_column=None, name="sw_ag")
    services, service_params = scope_sql(
        Scope(services=scope.services), team_column=None, agent_column=None, name="sw_sv"
    )
    where = f"(Team = '' OR {team}) AND {agents} AND (ServiceName = '' OR {services})"
    return where, {**team_params, **agent_params, **service_params}


def _row(row: dict[str, Any]) -> dict[str, Any]:
    changed: datetime = row["changed_at"]
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=timezone.utc)
    return {
        "team": row["team"],
        "agent": row["agent"],
        "version": row["version"],
        "service": row["service"],
        "state": row["state"],
        "reason": row["reason"],
        "changed_at": changed.isoformat().replace("+00:00", "Z"),
        "key_id": row["key_id"] or None,
    }


def current_switches(store: Store, scope: Scope) -> list[dict[str, Any]]:
    """The killed switches ``scope`` may see, sorted by agent, version, service, team."""
    where, params = _switch_scope_sql(scope)
    rows = store.query_dicts(
        f"SELECT * FROM ({_LATEST.format(where=where)}) WHERE state = 'killed' ORDER BY agent, version, service, team",
        params,
    )
    return [_row(row) for row in rows]


def switches_version(switches: list[dict[str, Any]]) -> str:
    """A version of a list of switches (16 hex digits): the same list, the same version.

    Computed from what the reader sees, so a change to another team's switches changes
    nothing for it (its long poll does not wake, and the version says nothing about them).
    """
    canonical = json.dumps(switches, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def switch_state(store: Store, key: SwitchKey) -> dict[str, Any] | None:
    """The latest flip of exactly this switch (killed or revived), or None if it was never flipped."""
    rows = store.query_dicts(
        _LATEST.format(
            where="Team = {t:String} AND AgentName = {a:String} AND AgentVersion = {v:String} "
            "AND ServiceName = {s:String}"
        ),
        {"t": key.team, "a": key.agent, "v": key.version, "s": key.service},
    )
    return _row(rows[0]) if rows else None


def flip_switch(store: Store, key: SwitchKey, state: State, *, reason: str, key_id: str | None) -> dict[str, Any]:
    """Record that ``key`` is now ``state``; returns the switch as :func:`current_switches` shows it."""
    with _WRITE_LOCK:
        now = datetime.now(timezone.utc)
        if now <= _last_change[0]:
            now = _last_change[0] + timedelta(microseconds=1)
        _last_change[0] = now
        store.insert_rows(
            SWITCHES_TABLE,
            [[key.team, key.agent, key.version, key.service, state, reason, now, key_id or ""]],
            ["Team", "AgentName", "AgentVersion", "ServiceName", "State", "Reason", "ChangedAt", "KeyId"],
        )
    return _row(
        {
            "team": key.team,
            "agent": key.agent,
            "version": key.version,
            "service": key.service,
            "state": state,
            "reason": reason,
            "changed_at": now,
            "key_id": key_id,
        }
    )


def flip_count(store: Store) -> int:
    """How many flips the store holds: a cheap way to notice a flip made by another collector."""
    return int(store.query(f"SELECT count() FROM {SWITCHES_TABLE}")[0][0])
