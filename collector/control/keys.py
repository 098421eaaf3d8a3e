"""API keys: making them, hashing them, and knowing them without asking the store on every request.

A key's text is ``tr_<id>_<secret>``: ``<id>`` (``trk_`` and 12 hex digits) is public and names
the key in lists and the audit log; ``<secret>`` is 32 random bytes (``secrets.token_urlsafe``).
The store keeps only the SHA-256 of the whole text. A plain fast hash is enough, and a slow
password hash (bcrypt, argon2) would buy nothing: those exist to make guessing a low-entropy
password expensive, and a 256-bit random secret cannot be guessed however fast the hash is.
Being fast also lets the in-memory ring be a dict keyed by the hash: a request costs one SHA-256
and one dict lookup, never a store query.

:class:`KeyRing` holds every key in memory. Creating or revoking a key through this collector
changes the ring at once; it also reloads the table every :data:`REFRESH_SECONDS`, so a key
created or revoked through another collector sharing the ClickHouse server takes effect here
within that bound.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Final

from tracereel.collector.control.access import ROLES, Principal
from tracereel.collector.store import KeyRow, Store, insert_key, read_keys
from tracereel.contracts.keys import GLOB_PATTERN, KEY_ID_PATTERN, TEAM_PATTERN

__all__ = ["ADMIN_KEY_ID", "API_KEY_ID", "REFRESH_SECONDS", "KeyRequestError", "KeyRing", "hash_key", "new_key"]

logger = logging.getLogger("tracereel.collector.keys")

REFRESH_SECONDS: Final = 5.0
# The key ids the audit log shows for the two keys that come from settings, not from the store.
ADMIN_KEY_ID: Final = "TRACEREEL_ADMIN_KEY"
API_KEY_ID: Final = "TRACEREEL_API_KEY"


class KeyRequestError(ValueError):
    """A key cannot be created or revoked as asked; the message names the problem (answered with 400/404)."""


def hash_key(text: str) -> str:
    """The hex SHA-256 of a key's text: what the store keeps instead of the key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh (id, key text); the text is shown once and never stored."""
    key_id = f"trk_{secrets.token_hex(6)}"
    return key_id, f"tr_{key_id}_{secrets.token_urlsafe(32)}"


def _check_globs(globs: tuple[str, ...], what: str) -> tuple[str, ...]:
    for glob in globs:
        if not GLOB_PATTERN.fullmatch(glob):
            raise KeyRequestError(f"{what} glob {glob!r} is not valid: non-empty, at most 200 characters, no commas")
    return globs


class KeyRing:
    """Every key of the store in memory, plus the keys from settings; thread-safe."""

    def __init__(self, store: Store, *, admin_key: str | None = None, api_key: str | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()
        # Keys from settings: admins of every team, compared by hash like the others.
        self._static: dict[str, Principal] = {}
        if admin_key:
            self._static[hash_key(admin_key)] = Principal(key_id=ADMIN_KEY_ID, role="admin")
        if api_key:
            self._static[hash_key(api_key)] = Principal(key_id=API_KEY_ID, role="admin")
        self._rows: dict[str, KeyRow] = {}
        self._by_hash: dict[str, Principal] = {}
        self.refresh()

    @property
    def auth_on(self) -> bool:
        """Auth is on once a key was ever created (revoked ones count) or one is set in settings."""
        return bool(self._static or self._rows)

    def refresh(self) -> None:
        """Reload the keys from the store (every REFRESH_SECONDS, and at start)."""
        rows = read_keys(self._store)
        with self._lock:
            self._set(rows)

    def _set(self, rows: list[KeyRow]) -> None:
        self._rows = {row.id: row for row in rows}
        self._by_hash = {
            row.hash: Principal(
                key_id=row.id,
                role=row.role,
                team=row.team or None if row.role == "admin" else row.team,
                agents=row.agents,
                services=row.services,
            )
            for row in rows
            # A role this version does not know (a newer collector's) opens nothing here.
            if row.revoked_at is None and row.role in ROLES
        }

    def principal(self, key: str) -> Principal | None:
        """Who ``key`` stands for; None for a wrong or revoked key (the caller cannot tell which)."""
        digest = hash_key(key)
        # A dict lookup by digest, not a comparison with the secret: a caller who does not know a
        # key cannot choose the digest, so the lookup's timing says nothing useful about keys.
        found = self._static.get(digest)
        if found is not None:
            return found
        return self._by_hash.get(digest)

    def create(
        self,
        *,
        team: str,
        role: str,
        agents: tuple[str, ...] = (),
        services: tuple[str, ...] = (),
        created_by: str,
    ) -> tuple[KeyRow, str]:
        """Store a new key; returns its row and its text (the only time the text exists)."""
        if role not in ROLES:
            raise KeyRequestError(f"role {role!r} is not valid: expected one of {', '.join(ROLES)}")
        if not TEAM_PATTERN.fullmatch(team):
            raise KeyRequestError(
                f"team {team!r} is not valid: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        key_id, text = new_key()
        row = KeyRow(
            id=key_id,
            hash=hash_key(text),
            team=team,
            role=role,
            agents=_check_globs(agents, "agent"),
            services=_check_globs(services, "service"),
            created_at=datetime.now(timezone.utc),
            created_by=created_by,
        )
        insert_key(self._store, row)
        with self._lock:
            self._set([*self._rows.values(), row])
        return row, text

    def revoke(self, key_id: str) -> KeyRow:
        """Revoke ``key_id`` (at once on this collector); :class:`KeyRequestError` if there is no such key."""
        with self._lock:
            row = self._rows.get(key_id) if KEY_ID_PATTERN.fullmatch(key_id) else None
        if row is None:
            # Another collector may have created it moments ago.
            self.refresh()
            row = self._rows.get(key_id)
        if row is None:
            raise KeyRequestError(f"no key with id {key_id}")
        if row.revoked_at is not None:
            return row
        revoked = replace(row, revoked_at=datetime.now(timezone.utc))
        insert_key(self._store, revoked)
        with self._lock:
            self._set([revoked if r.id == key_id else r for r in self._rows.values()])
        return revoked

    def rows(self) -> list[KeyRow]:
        """Every key (revoked ones too), oldest first, as last loaded."""
        with self._lock:
            return sorted(self._rows.values(), key=lambda r: (r.created_at, r.id))

    def keep_fresh(self, stop: threading.Event) -> None:
        """Reload every REFRESH_SECONDS until ``stop`` is set (run in a thread; a failed reload keeps the last keys)."""
        while not stop.wait(REFRESH_SECONDS):
            try:
                self.refresh()
            except Exception as exc:  # the store is down: keep serving with the keys known so far
                logger.warning("could not reload the API keys (keeping the last known ones): %s", exc)
