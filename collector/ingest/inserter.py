"""A bounded queue between requests and the store, flushed as few large INSERTs.

Requests wait until their spans are stored, so a 200 means durable. ClickHouse wants few,
large inserts: the writer thread waits up to ``flush_interval`` to gather spans from many
requests into one INSERT, or writes at once when ``max_batch_spans`` are waiting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any

from tracereel.collector.store import Store

__all__ = ["BulkInserter", "Overloaded", "StoreWriteError"]

logger = logging.getLogger("tracereel.collector")


class Overloaded(Exception):
    """More spans are waiting than the queue holds; the client should retry later."""


class StoreWriteError(Exception):
    """The store refused an insert; nothing of the request was acknowledged."""


class _Pending:
    __slots__ = ("count", "future", "loop", "queued_at", "table")

    def __init__(self, table: Any, count: int, future: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        self.table = table
        self.count = count
        self.future = future
        self.loop = loop
        self.queued_at = time.monotonic()


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class BulkInserter:
    """Gathers span batches from requests and writes them in bulk on one thread."""

    def __init__(self, store: Store, *, max_pending_spans: int, max_batch_spans: int, flush_interval: float) -> None:
        self._store = store
        self._max_pending = max_pending_spans
        self._max_batch = max_batch_spans
        self._interval = flush_interval
        self._queue: deque[_Pending] = deque()
        self._pending_spans = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.stored_spans = 0
        self.inserts = 0

    @property
    def pending_spans(self) -> int:
        """Spans accepted but not yet stored."""
        return self._pending_spans

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="tracereel-inserter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is waiting, then stop the writer thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    async def submit(self, table: Any, count: int) -> None:
        """Queue an Arrow ``table`` of ``count`` spans and wait until it is stored.

        Raises Overloaded (queue full or shutting down) or StoreWriteError (insert failed).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._stopping:
                raise Overloaded("collector is shutting down")
            if self._pending_spans and self._pending_spans + count > self._max_pending:
                raise Overloaded(f"{self._pending_spans} spans are waiting to be stored")
            self._queue.append(_Pending(table, count, future, loop))
            self._pending_spans += count
            if self._pending_spans >= self._max_batch:
                self._cond.notify()
            elif len(self._queue) == 1:
                self._cond.notify()
        await asyncio.shield(future)

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while True:
                if self._queue:
                    if self._stopping or self._pending_spans >= self._max_batch:
                        break
                    wait = self._queue[0].queued_at + self._interval - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                elif self._stopping:
                    return None
                else:
                    self._cond.wait()
            taken: list[_Pending] = []
            spans = 0
            while self._queue and (not taken or spans + self._queue[0].count <= self._max_batch):
                item = self._queue.popleft()
                spans += item.count
                taken.append(item)
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            count = sum(item.count for item in taken)
            error: BaseException | None = None
            try:
                if count:
                    import pyarrow as pa

                    tables = [item.table for item in taken if item.count]
                    self._store.insert_arrow(tables[0] if len(tables) == 1 else pa.concat_tables(tables))
                    self.inserts += 1
            except Exception as exc:
                logger.error("insert of %d spans failed: %s", count, str(exc).splitlines()[0])
                error = StoreWriteError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            with self._cond:
                self._pending_spans -= count
                if error is None:
                    self.stored_spans += count
            for item in taken:
                try:
                    item.loop.call_soon_threadsafe(_resolve, item.future, error)
                except RuntimeError:
                    pass  # the request's loop is gone; nothing is waiting for the answer
