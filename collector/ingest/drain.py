"""The drainer: one thread moving the write-ahead log into the store in large inserts.

However many clients send, the store sees at most one insert per ``interval`` (sooner only
when ``batch_bytes`` pile up): ClickHouse wants few, large inserts. After a quiet spell the
first record is stored at once, so a span is queryable about an insert's time after its ack.

Each insert carries its batch's deduplication token, so repeating a batch after a crash stores
it once. A store that refuses
writes leaves the batch in the log; the drainer retries it with backoff and the log fills up to
its quota, after which requests get 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from tracereel.collector.ingest.wal import Batch, WriteAheadLog
from tracereel.collector.store import Store

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Drainer", "ipc_to_table"]

logger = logging.getLogger("tracereel.collector")

_MAX_BACKOFF = 5.0


def ipc_to_table(records: list[bytes]) -> pa.Table:
    """One ``pyarrow.Table`` of the spans in ``records`` (each an Arrow IPC stream)."""
    import pyarrow as pa

    tables = [pa.ipc.open_stream(record).read_all() for record in records]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


class Drainer:
    """Stores the log's batches in order; :meth:`stop` drains what is left first."""

    def __init__(
        self,
        log: WriteAheadLog,
        store: Store,
        *,
        interval: float = 1.0,
        # At 60k spans/s a second of spans is about 55 MB of log records: with 32 MiB the cap,
        # not the interval, set the pace (1.7 inserts a second, 6 % fewer spans/s in
        # bench/ingest.py --clients 64). Peak memory grows by about 100 MiB.
        batch_bytes: int = 64 << 20,
        decode: Callable[[list[bytes]], pa.Table] = ipc_to_table,
    ) -> None:
        self._log = log
        self._store = store
        self._interval = interval
        self._batch_bytes = batch_bytes
        self._decode = decode
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored_spans = 0
        self.inserts = 0
        self.failed_inserts = 0
        self.last_error: str | None = None
        self.last_insert_seconds = 0.0
        # Seconds from append (the ack) to stored, of the latest records: /healthz reports them.
        self._lags: deque[float] = deque(maxlen=10_000)

    @property
    def interval(self) -> float:
        """Least seconds between two inserts under load."""
        return self._interval

    @property
    def store_accepting(self) -> bool:
        """False while the last insert failed (the store is down or refusing writes)."""
        return self.last_error is None

    def stored_lag(self) -> dict[str, float] | None:
        """p50, p99 and max seconds from ack to stored over the latest 10,000 records (None before any)."""
        lags = sorted(self._lags)
        if not lags:
            return None
        return {
            "p50": round(lags[len(lags) // 2], 3),
            "p99": round(lags[min(len(lags) - 1, len(lags) * 99 // 100)], 3),
            "max": round(lags[-1], 3),
        }

    def start(self) -> None:
        """Start the drainer thread."""
        self._thread = threading.Thread(target=self._run, name="tracereel-drainer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Close the log to new records, store what it holds (up to ``timeout`` s), stop.

        True if the log is empty afterwards; otherwise what is left stays in it for the next start.
        """
        self._log.close()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self._log.undrained_bytes == 0

    def _run(self) -> None:
        backoff = 0.1
        last_insert = -float("inf")
        while True:
            # At most one insert per interval, unless a full batch is waiting: under load the
            # inserts are large; after a quiet spell the first span is stored at once.
            hold = last_insert + self._interval - time.monotonic()
            if hold > 0 and not self._stopping.is_set():
                if not self._log.wait(min_bytes=self._batch_bytes, timeout=hold):
                    continue
            elif not self._log.wait(min_bytes=1, timeout=1.0):
                if self._stopping.is_set() and self._log.undrained_bytes == 0:
                    return
                continue
            batch = self._log.next_batch(self._batch_bytes)
            if batch is None:
                continue
            last_insert = time.monotonic()
            try:
                self._store_batch(batch)
            except Exception as exc:
                self.failed_inserts += 1
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if self.last_error is None:
                    logger.error("the store refused an insert; its spans stay in the write-ahead log: %s", message)
                self.last_error = message
                # Stopping with a store that refuses writes: keep the rest in the log for next time.
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            if self.last_error is not None:
                logger.warning("the store accepts writes again; draining the write-ahead log")
            self.last_error = None
            backoff = 0.1
            self._log.commit(batch)
            stored_ns = time.time_ns()
            self._lags.extend((stored_ns - appended) / 1e9 for appended in batch.appended_ns)

    def _store_batch(self, batch: Batch) -> None:
        table = self._decode(batch.records)
        started = time.monotonic()
        self._store.insert_arrow(table, dedup_token=batch.token)
        self.last_insert_seconds = time.monotonic() - started
        self.inserts += 1
        self.stored_spans += table.num_rows
