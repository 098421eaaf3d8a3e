"""An on-disk cache of verdicts keyed by what the judge was asked, so a re-run does not pay twice.

The key is a SHA-256 of the judge's name (its model) and the exact messages it would send:
the same case scored by the same model under the same rubric is answered from the cache;
a changed output, rubric, expected answer or model asks again. Only verdicts are cached,
never errors, so a run that failed on a bad key or a timeout asks again once fixed.

The store is a SQLite file (``verdicts.sqlite3``) in the cache directory: SQLite serialises
writers across threads and processes, which ``--concurrency`` and parallel CI jobs need.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from tracereel.evals.judge.prompt import Verdict
from tracereel.sdk.settings import resolve

__all__ = ["JudgeCache", "cache_key", "default_cache_dir"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def cache_key(judge: str, messages: Any) -> str:
    """The hash a verdict is stored under: the judge (model) and the messages, canonical JSON."""
    canonical = json.dumps({"judge": judge, "messages": messages}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_cache_dir() -> Path:
    """``tracereel/judge`` under the user's cache directory (``$XDG_CACHE_HOME``, else ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tracereel" / "judge"


class JudgeCache:
    """Verdicts in ``DIRECTORY/verdicts.sqlite3``; the directory is created on first write."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / "verdicts.sqlite3"

    @classmethod
    def from_settings(cls, argument: str | bool | None = None) -> JudgeCache | None:
        """The cache ``TRACEREEL_JUDGE_CACHE`` names (None when it is ``off``), else the default one."""
        value = resolve("judge_cache", argument)
        if value is False:
            return None
        return cls(value if isinstance(value, str) else default_cache_dir())

    def _connect(self) -> sqlite3.Connection:
        # A connection per operation: judges run on the eval runner's worker threads, and a
        # SQLite connection must not be shared between threads; opening one costs far less
        # than the HTTP call it saves.
        self.directory.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute(_SCHEMA)
        return connection

    def get(self, key: str) -> Verdict | None:
        """The cached verdict for ``key``, or None."""
        if not self.path.exists():
            return None
        connection = self._connect()
        try:
            row = connection.execute("SELECT score, reason FROM verdicts WHERE key = ?", (key,)).fetchone()
        finally:
            connection.close()
        return None if row is None else Verdict(float(row[0]), str(row[1]))

    def put(self, key: str, judge: str, verdict: Verdict) -> None:
        """Store ``verdict`` under ``key`` (a later verdict for the same key replaces it)."""
        connection = self._connect()
        try:
            with connection:
                connection.execute(
                    "INSERT OR REPLACE INTO verdicts (key, judge, score, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                    (key, judge, verdict.score, verdict.reason, time.time()),
                )
        finally:
            connection.close()

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        connection = self._connect()
        try:
            return int(connection.execute("SELECT count(*) FROM verdicts").fetchone()[0])
        finally:
            connection.close()
