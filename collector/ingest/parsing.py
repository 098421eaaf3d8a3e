"""Turning a request body into an Arrow table of spans, in worker processes.

Decompressing, decoding and flattening OTLP is pure Python and holds the GIL; done in the
request threads it left the collector on one core while the other idled (bench/ingest.py).
A small process pool does it instead and hands back Arrow IPC bytes, so the collector
process only answers HTTP and runs the INSERTs (which release the GIL). Redaction runs there
too, on the decoded columns before they become Arrow, so it scales with the workers; each
parse returns its counts per kind and the pool sums them for ``/healthz``.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, NamedTuple

from starlette.concurrency import run_in_threadpool

from tracereel.collector.control import Redactor
from tracereel.collector.ingest.body import decompress
from tracereel.collector.ingest.otlp import decode_json, decode_protobuf, redact_columns, to_columns
from tracereel.collector.store import columns_to_arrow
from tracereel.constants import PROTOBUF

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ParsePool", "Parsed", "ParserUnavailable", "parse_body", "resolve_workers"]


class ParserUnavailable(Exception):
    """A parse worker died; the request can be retried."""


class Parsed(NamedTuple):
    """One request parsed: its spans as a ``pyarrow.Table``, how many, redactions per kind, each span's key."""

    table: pa.Table
    spans: int  # not ``count``: a tuple's method of that name
    redactions: dict[str, int]
    keys: list[int]


def parse_body(
    body: bytes, encoding: str, media_type: str, limit: int, redactor: Redactor | None = None, team: str = ""
) -> Parsed:
    """Decompress, decode, flatten and redact one request.

    ``keys`` are the spans' exact ids for the re-send filter (``dedup.span_keys``), made here
    from the raw ids so that the collector's event loop does not derive them from the table.

    Every span gets ``team`` (the sending key's team) in its ``Team`` column.

    Raises ``BodyError`` (413/415/400) or ``OTLPError`` (400) naming the problem.
    """
    raw = decompress(body, encoding, limit)
    request = decode_protobuf(raw) if media_type == PROTOBUF else decode_json(raw)
    batch = to_columns(request, team)
    redactions = redact_columns(batch, redactor) if redactor is not None else {}
    return Parsed(columns_to_arrow(batch.columns), batch.count, redactions, batch.keys)


# The worker's redactor, sent once with the pool's initializer rather than with every request.
_worker_redactor: Redactor | None = None


def _parse_to_ipc(
    body: bytes, encoding: str, media_type: str, limit: int, team: str
) -> tuple[bytes, int, dict[str, int], list[int]]:
    import pyarrow as pa

    table, count, redactions, keys = parse_body(body, encoding, media_type, limit, _worker_redactor, team)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), count, redactions, keys


def _init_worker(lifeline: Connection, redactor: Redactor | None = None) -> None:
    global _worker_redactor
    _worker_redactor = redactor
    # Ctrl-C reaches the whole process group; the collector drains and stops its workers
    # itself, so a worker must not die mid-request with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(lifeline,), name="tracereel-lifeline", daemon=True).start()
    _warm_up()


def _exit_with_parent(lifeline: Connection) -> None:
    """Exit this worker as soon as the collector process is gone.

    A collector killed outright (SIGKILL, the OOM killer) cannot stop its pool, and a worker
    would wait for work forever as an orphan. Only the collector holds the pipe's write end
    and it never writes, so the read returns when the kernel closes that end as the
    collector dies, or at once if it died before this worker got here. (Comparing
    os.getppid() with the pid read at start-up missed the second case: a worker still
    starting when the collector died took its new parent for the collector and stayed.
    PR_SET_PDEATHSIG was not used: it fires when the *thread* that spawned the worker ends,
    and the pool spawns workers from whichever thread submits work.)
    """
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(0)


def _warm_up() -> None:
    # Import the heavy modules once per worker, before the first request needs them.
    importlib.import_module("pyarrow")


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
    """Parses (and redacts) request bodies in ``workers`` processes, or in a thread when ``workers`` is 0.

    ``redactions`` sums, per kind, what ``redactor`` replaced in the bodies parsed so far.
    """

    def __init__(self, workers: int, redactor: Redactor | None = None) -> None:
        self.workers = workers
        self.redactor = redactor
        self.redactions: dict[str, int] = {}
        self._pool: ProcessPoolExecutor | None = None
        # (read end for the workers, write end kept here) of the current pool's lifeline pipe.
        self._lifeline: tuple[Connection, Connection] | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the collector process runs threads and an embedded database.
            context = multiprocessing.get_context("spawn")
            # The write end is not inheritable and never sent to a worker: this process alone holds it.
            reader, writer = context.Pipe(duplex=False)
            self._lifeline = (reader, writer)
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker, initargs=(reader, self.redactor)
            )
        return self._pool

    def _retire(self, wait: bool) -> None:
        """Shut the current pool down and close its lifeline (workers still running read EOF and exit)."""
        pool, self._pool = self._pool, None
        lifeline, self._lifeline = self._lifeline, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        for end in lifeline or ():
            end.close()

    def start(self) -> None:
        """Start the worker processes now rather than on the first request."""
        if self.workers:
            pool = self._executor()
            for future in [pool.submit(_warm_up) for _ in range(self.workers)]:
                future.result()

    async def parse(
        self, body: bytes, encoding: str, media_type: str, limit: int, team: str = ""
    ) -> tuple[pa.Table, int, bytes | None, list[int]]:
        """Parse one request body: (``pyarrow.Table``, span count, the IPC stream a worker made or None, keys).

        Every span is stamped with ``team``. The IPC bytes are what crossed from the worker: the
        write-ahead log can take them as they are rather than encode the table again.
        """
        if not self.workers:
            table, count, redactions, keys = await run_in_threadpool(
                parse_body, body, encoding, media_type, limit, self.redactor, team
            )
            self._count(redactions)
            return table, count, None, keys
        import pyarrow as pa

        loop = asyncio.get_running_loop()
        executor = self._executor()
        try:
            ipc, count, redactions, keys = await loop.run_in_executor(
                executor, _parse_to_ipc, body, encoding, media_type, limit, team
            )
        except BrokenProcessPool:
            # Only the request that finds its pool still current retires it: another may
            # already have replaced it with a working one.
            if self._pool is executor:
                self._retire(wait=False)
            raise ParserUnavailable("a parse worker exited; retry") from None
        self._count(redactions)
        return pa.ipc.open_stream(ipc).read_all(), count, ipc, keys

    def _count(self, redactions: dict[str, int]) -> None:
        # Runs on the event loop only (after the await), so no lock is needed.
        for kind, n in redactions.items():
            self.redactions[kind] = self.redactions.get(kind, 0) + n

    def stop(self) -> None:
        """Stop the worker processes."""
        self._retire(wait=True)
