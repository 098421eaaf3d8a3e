"""The rows behind API keys and the audit log: ``tracereel_keys`` and ``tracereel_audit``.

Plain reads and writes; what a key means (hashing, roles, the cache) is in ``control``. A key
row holds the SHA-256 of the key's text, never the text. Revoking inserts a newer version of the
row (the table is a ReplacingMergeTree on ``Version``), read back with ``FINAL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tracereel.collector.store.tables import AUDIT_TABLE, KEYS_TABLE

if TYPE_CHECKING:
    from tracereel.collector.store.clickhouse import Store

__all__ = ["AuditRow", "KeyRow", "insert_audit", "insert_key", "read_audit", "read_keys"]

_KEY_COLUMNS = ("Id", "Hash", "Team", "Role", "Agents", "Services", "CreatedAt", "CreatedBy", "RevokedAt", "Version")
_AUDIT_COLUMNS = ("Time", "KeyId", "Action", "Target", "Detail")


@dataclass(frozen=True)
class KeyRow:
    """One key as stored: ``hash`` is the hex SHA-256 of the key's text; ``revoked_at`` None while valid."""

    id: str
    hash: str
    team: str
    role: str
    agents: tuple[str, ...]
    services: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    """One admin action: when, by which key id, what, to what, and a short detail (no secrets)."""

    time: datetime
    key_id: str
    action: str
    target: str
    detail: str


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def insert_key(store: Store, key: KeyRow) -> None:
    """Write ``key`` (a new key, or a newer version of one: revoking writes the row again)."""
    store.insert_rows(
        KEYS_TABLE,
        [
            [
                key.id,
                key.hash,
                key.team,
                key.role,
                list(key.agents),
                list(key.services),
                key.created_at,
                key.created_by,
                key.revoked_at,
                datetime.now(timezone.utc),
            ]
        ],
        _KEY_COLUMNS,
    )


def read_keys(store: Store) -> list[KeyRow]:
    """Every key ever created (revoked ones too), the newest version of each, oldest first."""
    rows = store.query(
        f"SELECT Id, Hash, Team, Role, Agents, Services, CreatedAt, CreatedBy, RevokedAt "
        f"FROM {KEYS_TABLE} FINAL ORDER BY CreatedAt, Id"
    )
    return [
        KeyRow(
            id=r[0],
            hash=r[1],
            team=r[2],
            role=r[3],
            agents=tuple(r[4]),
            services=tuple(r[5]),
            created_at=_utc(r[6]) or datetime.now(timezone.utc),
            created_by=r[7],
            revoked_at=_utc(r[8]),
        )
        for r in rows
    ]


def insert_audit(store: Store, row: AuditRow) -> None:
    """Append one admin action to the audit log."""
    store.insert_rows(AUDIT_TABLE, [[row.time, row.key_id, row.action, row.target, row.detail]], _AUDIT_COLUMNS)


def read_audit(store: Store, *, limit: int = 100) -> list[AuditRow]:
    """The newest ``limit`` admin actions, newest first."""
    rows: list[tuple[Any, ...]] = store.query(
        f"SELECT Time, KeyId, Action, Target, Detail FROM {AUDIT_TABLE} ORDER BY Time DESC LIMIT {{limit:UInt32}}",
        {"limit": limit},
    )
    return [
        AuditRow(time=_utc(r[0]) or datetime.now(timezone.utc), key_id=r[1], action=r[2], target=r[3], detail=r[4])
        for r in rows
    ]
