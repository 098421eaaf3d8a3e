"""The ClickHouse store: one clickhouse-connect client for chDB (embedded) and servers alike."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urlsplit

from tracereel.collector.store.columns import columns_to_arrow
from tracereel.collector.store.layout import SINGLE_NODE, ClusterLayoutError, Layout
from tracereel.collector.store.migrations import MIGRATIONS
from tracereel.collector.store.retention import apply_retention
from tracereel.collector.store.tables import MIGRATIONS_TABLE, TRACES_TABLE

if TYPE_CHECKING:
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client

__all__ = ["Store", "StoreError", "default_store_url"]


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says why and what to do."""


def default_store_url() -> str:
    """``chdb://`` URL of the default embedded store, under the user's data directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"chdb://{Path(base) / 'tracereel' / 'store'}"


_P = ParamSpec("_P")
_T = TypeVar("_T")


class _Result(Protocol):
    @property
    def column_names(self) -> Sequence[str]: ...
    @property
    def result_rows(self) -> Sequence[Sequence[Any]]: ...


class _Client(Protocol):
    """The part of clickhouse-connect's ``Client`` the store uses, fully annotated.

    The library's own annotations leave some parameters bare (``Sequence``, an untyped Arrow
    table), which strict checking reports at every call; the store sees the client through this.
    """

    def command(
        self, cmd: str, *, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> object: ...
    def query(self, query: str, *, parameters: dict[str, Any] | None = None) -> _Result: ...
    def insert(self, table: str, data: Sequence[Sequence[Any]], *, column_names: Sequence[str]) -> object: ...
    def insert_arrow(self, table: str, arrow_table: pa.Table, *, settings: dict[str, Any] | None = None) -> object: ...
    def close(self) -> None: ...


_IN_USE = (
    "the embedded store {url} is in use by another process (a chDB directory can be opened by one "
    "process only): stop that process, or pass another --store"
)


def _locked_by_another_process(status_file: Path) -> bool:
    # ClickHouse flock()s <dir>/status while it runs. Asking first gives a clear error
    # instead of the engine's own, which it also prints to stderr.
    import fcntl

    if not status_file.exists():
        return False
    try:
        with open(status_file, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


class Store:
    """The span store. Thread-safe: chDB runs one query at a time, so calls are serialised."""

    def __init__(self, client: Client, url: str, layout: Layout = SINGLE_NODE) -> None:
        self._client: _Client = client
        self.url = url
        # Where the tables live (one node, or a cluster's local + Distributed tables); see layout.py.
        self.layout = layout
        self.embedded = url.startswith("chdb:")
        # chDB is one engine in this process; a server client has its own pool.
        self._lock = threading.Lock() if self.embedded else None

    @property
    def display_url(self) -> str:
        """The store URL with any password masked, for logs and messages."""
        return _redact(self.url)

    @classmethod
    def open(cls, url: str, *, retention_days: int | None = None, cluster: str | None = None) -> Store:
        """Open (and migrate) the store at ``url``: ``chdb:///dir`` or ``http(s)://user:pass@host:8123/db``.

        Every data table then keeps ``retention_days`` days (None: forever; see retention.py).
        ``cluster`` names the ClickHouse cluster (``<remote_servers>``) to lay the tables out on:
        replicated local tables behind Distributed ones, every DDL ``ON CLUSTER`` (layout.py).
        """
        import clickhouse_connect

        try:
            layout = Layout(cluster)
        except ClusterLayoutError as exc:
            raise StoreError(str(exc)) from None
        if cluster is not None and not url.startswith(("http://", "https://")):
            raise StoreError(
                f"--cluster {cluster} needs a ClickHouse server store (http(s)://host:8123/db), "
                f"not {_redact(url)!r}: an embedded chDB store is one node"
            )
        if url.startswith("chdb:"):
            path = url[len("chdb:") :].lstrip("/")
            if not path:
                raise StoreError(f"store URL {url!r} names no directory: use chdb:///path/to/dir")
            directory = Path("/" + path)
            directory.mkdir(parents=True, exist_ok=True)
            if _locked_by_another_process(directory / "status"):
                raise StoreError(_IN_USE.format(url=url))
            dsn = f"chdb:///{directory.as_posix().lstrip('/')}"
        elif url.startswith(("http://", "https://")):
            dsn = url
        else:
            raise StoreError(f"store URL {_redact(url)!r} is not valid: use chdb:///path or http(s)://host:8123/db")
        try:
            # get_client's **kwargs are unannotated, which makes the function "partially unknown".
            client = clickhouse_connect.get_client(dsn=dsn, settings=dict(layout.session_settings))  # pyright: ignore[reportUnknownMemberType]
        except Exception as exc:
            message = str(exc)
            if "Cannot lock file" in message or "already running" in message:
                raise StoreError(_IN_USE.format(url=url)) from None
            raise StoreError(f"cannot open the store {_redact(url)}: {message.splitlines()[0]}") from None
        store = cls(client, url, layout)
        try:
            store.migrate()
            # The checker sees this file twice: as collector.store.clickhouse (its path) and as
            # tracereel.collector.store.clickhouse (the name retention.py imports), two Store classes.
            apply_retention(store, retention_days)  # pyright: ignore[reportArgumentType]
        except ValueError:  # a retention of less than a day: the caller's mistake, not the store's
            store.close()
            raise
        except Exception as exc:
            # E.g. on a cluster, a server down makes ON CLUSTER DDL time out: one line, and the
            # next start applies what is left (every statement is IF NOT EXISTS).
            store.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot migrate the store {_redact(url)}: {first}") from None
        return store

    def _run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        if self._lock is None:
            return fn(*args, **kwargs)
        with self._lock:
            return fn(*args, **kwargs)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; returns the names applied now.

        On a cluster, two collectors starting at once may both find a migration unrecorded and
        both run it: every DDL statement is ``IF NOT EXISTS`` and ``ON CLUSTER`` (the second run
        does nothing), and the migration is recorded twice (``applied_migrations`` lists it once).
        """
        self._run(self._client.command, self.layout.bookkeeping())
        if self.layout.cluster is not None:
            # The record is replicated: catch up with what other collectors recorded on other
            # nodes before deciding what is left to apply.
            self._run(self._client.command, f"SYSTEM SYNC REPLICA {MIGRATIONS_TABLE}")
        done = {row[0] for row in self.query(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        applied: list[str] = []
        for name, statements in self.layout.migrations(MIGRATIONS):
            if name in done:
                continue
            for statement in statements:
                self._run(self._client.command, statement)
            self._run(self._client.insert, MIGRATIONS_TABLE, [[name]], column_names=["name"])
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        """Names of the migrations recorded in the database, in order."""
        return [row[0] for row in self.query(f"SELECT DISTINCT name FROM {MIGRATIONS_TABLE} ORDER BY name")]

    def insert_spans(self, columns: Sequence[list[Any]]) -> None:
        """Insert spans given as columns in ``INSERT_COLUMNS`` order, as one INSERT."""
        self.insert_arrow(columns_to_arrow(columns))

    def insert_arrow(self, table: pa.Table, *, dedup_token: str | None = None) -> None:
        """Insert a ``pyarrow.Table`` of spans (see :func:`columns_to_arrow`) as one INSERT.

        Arrow because ClickHouse parses it natively: about 2x faster here than
        clickhouse-connect's Python serialisation of the Map and Nested columns. Repeating an
        insert with the same ``dedup_token`` stores it once, in the span table and in every
        table its materialized views feed (each keeps a deduplication window, migration 0011).
        """
        settings: dict[str, object] | None = None
        if dedup_token is not None:
            settings = {
                "insert_deduplication_token": dedup_token,
                "deduplicate_blocks_in_dependent_materialized_views": 1,
            }
        self._run(self._client.insert_arrow, TRACES_TABLE, table, settings=settings)

    def insert_rows(self, table: str, rows: Sequence[Sequence[object]], column_names: Sequence[str]) -> None:
        """Insert ``rows`` (each in ``column_names`` order) into ``table`` as one INSERT."""
        self._run(self._client.insert, table, list(rows), column_names=list(column_names))

    def query(self, sql: str, parameters: Mapping[str, object] | None = None) -> list[tuple[Any, ...]]:
        """Run a SELECT with server-side ``{name:Type}`` parameters; returns the rows.

        A row's values are typed by the SQL (ClickHouse's column types), hence ``Any``.
        """
        result = self._run(self._client.query, sql, parameters=_params(parameters))
        return [tuple(row) for row in result.result_rows]

    def query_dicts(self, sql: str, parameters: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT; returns the rows as dicts keyed by column name."""
        result = self._run(self._client.query, sql, parameters=_params(parameters))
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def command(
        self, sql: str, parameters: Mapping[str, object] | None = None, settings: Mapping[str, object] | None = None
    ) -> None:
        """Run a statement that returns no rows, with server-side ``{name:Type}`` parameters and query settings."""
        self._run(self._client.command, sql, parameters=_params(parameters), settings=_params(settings))

    def close(self) -> None:
        """Release the store (for chDB: the directory lock)."""
        try:
            self._run(self._client.close)
        except Exception:
            pass


def _params(values: Mapping[str, object] | None) -> dict[str, Any] | None:
    # clickhouse-connect takes a dict; callers may hold any mapping.
    return dict(values) if values is not None else None
