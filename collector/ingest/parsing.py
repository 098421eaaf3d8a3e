"""Turning a request body into an Arrow table of spans, in worker processes.

Decompressing, decoding and flattening OTLP is pure Python and holds the GIL; done in the
request threads it left the collector on one core while the other idled (bench/ingest.py).
A small process pool does it instead and hands back Arrow IPC bytes, so the collector
process only answers HTTP and runs the INSERTs (which release the GIL).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from starlette.concurrency import run_in_threadpool

from tracereel.collector.constants import PROTOBUF
from tracereel.collector.ingest.body import decompress
from tracereel.collector.ingest.otlp import decode_json, decode_protobuf, to_columns
from tracereel.collector.store import columns_to_arrow

__all__ = ["ParsePool", "ParserUnavailable", "parse_body", "resolve_workers"]


class ParserUnavailable(Exception):
    """A parse worker died; the request can be retried."""


def parse_body(body: bytes, encoding: str, media_type: str, limit: int) -> tuple[Any, int]:
    """Decompress, decode and flatten one request: (``pyarrow.Table`` of spans, span count).

    Raises ``BodyError`` (413/415/400) or ``OTLPError`` (400) naming the problem.
    """
    raw = decompress(body, encoding, limit)
    request = decode_protobuf(raw) if media_type == PROTOBUF else decode_json(raw)
    batch = to_columns(request)
    return columns_to_arrow(batch.columns), batch.count


def _parse_to_ipc(body: bytes, encoding: str, media_type: str, limit: int) -> tuple[bytes, int]:
    import pyarrow as pa

    table, count = parse_body(body, encoding, media_type, limit)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), count


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group; the collector drains and stops its workers
    # itself, so a worker must not die mid-request with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _warm_up()


def _exit_with_parent(parent: int) -> None:
    # A collector killed outright (SIGKILL, OOM) cannot stop its pool; without this its
    # workers would wait for work forever as orphans.
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _warm_up() -> None:
    # Import the heavy modules once per worker, before the first request needs them.
    import pyarrow  # noqa: F401


def resolve_workers(setting: int) -> int:
    """Worker count for ``parse_workers``: negative means one per core.

    One per core, not one fewer: the collector process mostly waits on its INSERTs (which run
    in the engine, outside the GIL), and on 2 cores two workers took bench/ingest.py from
    27k to 35k spans/s, with inserts three times larger.
    """
    if setting >= 0:
        return setting
    return max(os.cpu_count() or 1, 1)


class ParsePool:
    """Parses request bodies in ``workers`` processes, or in a thread when ``workers`` is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the collector process runs threads and an embedded database.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)
        return self._pool

    def start(self) -> None:
        """Start the worker processes now rather than on the first request."""
        if self.workers:
            pool = self._executor()
            for future in [pool.submit(_warm_up) for _ in range(self.workers)]:
                future.result()

    async def parse(self, body: bytes, encoding: str, media_type: str, limit: int) -> tuple[Any, int]:
        """Parse one request body: (``pyarrow.Table``, span count)."""
        if not self.workers:
            return await run_in_threadpool(parse_body, body, encoding, media_type, limit)
        import pyarrow as pa

        loop = asyncio.get_running_loop()
        try:
            ipc, count = await loop.run_in_executor(self._executor(), _parse_to_ipc, body, encoding, media_type, limit)
        except BrokenProcessPool:
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            raise ParserUnavailable("a parse worker exited; retry") from None
        return pa.ipc.open_stream(ipc).read_all(), count

    def stop(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
