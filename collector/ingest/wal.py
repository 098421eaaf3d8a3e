"""The write-ahead log: a request's spans are durable on local disk before the collector answers 200.

Requests append records; one writer thread writes every record waiting and fsyncs once for all of
them (group commit), so concurrent requests share the cost of a sync. A drainer takes the records
in order as :class:`Batch` es and stores them; only then does it :meth:`~WriteAheadLog.commit`
the batch, which moves the log's cursor past it and deletes segments drained completely.

A crash (even ``kill -9``) loses nothing acknowledged and stores nothing twice:

- A record is acknowledged only after its fsync. A torn record at the end of the last segment
  (the crash came mid-write) was never acknowledged, and :meth:`~WriteAheadLog.open` cuts it off.
- Before a batch is handed out, its range is written down (the *intent*). After a crash the same
  range is handed out again first, with the same :attr:`Batch.token`; given as the store's insert
  deduplication token, it makes the re-insert of a batch that did land a no-op.

Layout of the directory: ``log-id`` (a random id, so tokens of two collectors never collide),
``state.json`` (cursor and intent), and segments ``<16 digits>.wal`` of records::

    u32 length | u32 crc32(time + payload) | u64 append time (ns since the epoch) | payload
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, TextIO

__all__ = ["Batch", "LogClosed", "LogFull", "LogInUse", "WriteAheadLog"]

logger = logging.getLogger("tracereel.collector")

_HEADER: Final = struct.Struct("<IIQ")
_SUFFIX: Final = ".wal"
_STATE: Final = "state.json"
_LOG_ID: Final = "log-id"
_LOCK: Final = "lock"


class LogFull(Exception):
    """The log holds its quota of undrained bytes; the client should retry later."""


class LogInUse(OSError):
    """Another process has the log's directory open."""


class LogClosed(Exception):
    """The log is closed (the collector is stopping); nothing was appended."""


@dataclass(frozen=True)
class Batch:
    """Consecutive records of one segment, handed to the drainer to store in one insert."""

    segment: int
    start: int
    end: int
    records: list[bytes]
    appended_ns: list[int]
    """When each record was appended (synced): its acknowledgement, give or take the response."""

    token: str
    """Deterministic for this range of this log: the insert deduplication token."""


def _segment_name(number: int) -> str:
    return f"{number:016d}{_SUFFIX}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _scan(path: Path, start: int = 0) -> tuple[list[tuple[int, int, int]], int]:
    """(offset, end, append time) of each whole record of a segment from ``start``, and where they end."""
    records: list[tuple[int, int, int]] = []
    with open(path, "rb") as handle:
        data = handle.read()
    offset = start
    while offset + _HEADER.size <= len(data):
        length, crc, appended = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if end > len(data) or zlib.crc32(data[offset + 8 : end]) != crc:
            break
        records.append((offset, end, appended))
        offset = end
    return records, offset


class WriteAheadLog:
    """A segmented, fsync'd, group-committed log of opaque records, drained in order.

    ``max_bytes`` bounds the undrained bytes (appends beyond it raise :class:`LogFull`);
    a segment is closed once it passes ``segment_bytes``. ``fsync=False`` is for tests of
    logic only: without it an acknowledged record can be lost by a power cut.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, max_bytes: int, segment_bytes: int = 64 << 20, fsync: bool = True
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._fsync = fsync
        self._cond = threading.Condition()
        self._queue: list[tuple[bytes, Future[None]]] = []
        self._closing = False
        self._writer: threading.Thread | None = None
        self._file: BinaryIO | None = None
        self._lock_file: TextIO | None = None
        # Owned by the writer thread: the segment being written and its size.
        self._current = 1
        self._current_size = 0
        # Under _cond: segment number -> (offset, end, append time ns) of its undrained records.
        self._index: dict[int, list[tuple[int, int, int]]] = {}
        self._cursor = (1, 0)
        self._intent: tuple[int, int, int] | None = None
        self._undrained = 0  # bytes of the records in _index
        self._reserved = 0  # bytes accepted for writing, not yet synced
        self.log_id = ""
        # Records in the log since it was opened (those found at open included), and of those
        # the ones stored since: a reader waits until stored_records passes appended_records.
        self.appended_records = 0
        self.stored_records = 0
        self._readers_waiting = 0  # readers in wait_stored: the drainer stores without holding back
        self.syncs = 0

    # -- opening and closing ---------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._writer is not None and self._writer.is_alive()

    def open(self) -> WriteAheadLog:
        """Recover the log from its directory (cut off a torn tail) and start the writer thread.

        Raises :class:`LogInUse` if another process has it open, ``OSError`` if it is damaged.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / _LOCK, "a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise LogInUse(
                f"the write-ahead log {self.directory} is in use by another collector: stop it, or pass --wal-dir"
            ) from None
        id_file = self.directory / _LOG_ID
        if not id_file.exists():
            _write_atomically(id_file, uuid.uuid4().hex)
        self.log_id = id_file.read_text().strip()
        state_file = self.directory / _STATE
        if state_file.exists():
            state = json.loads(state_file.read_text())
            self._cursor = (int(state["cursor"][0]), int(state["cursor"][1]))
            intent = state.get("intent")
            self._intent = (int(intent[0]), int(intent[1]), int(intent[2])) if intent else None
        segments = sorted(int(p.name.removesuffix(_SUFFIX)) for p in self.directory.glob(f"*{_SUFFIX}"))
        for number in segments:
            path = self.directory / _segment_name(number)
            if number < self._cursor[0]:
                path.unlink()  # drained; the crash came before its delete
                continue
            start = self._cursor[1] if number == self._cursor[0] else 0
            records, end = _scan(path, start)
            size = path.stat().st_size
            if end < size:
                if number != segments[-1]:
                    raise OSError(f"write-ahead log segment {path} is damaged at byte {end}, before its end")
                logger.warning(
                    "write-ahead log: cut a torn record off %s (%d bytes, never acknowledged)", path, size - end
                )
                with open(path, "r+b") as handle:
                    handle.truncate(end)
                    os.fsync(handle.fileno())
            self._index[number] = records
            self._undrained += sum(r[1] - r[0] for r in records)
            self.appended_records += len(records)
            self._current, self._current_size = number, end
        if not self._index:
            self._current, self._current_size = max(self._cursor[0], 1), 0
            self._index[self._current] = []
            self._cursor = (self._current, 0)
        self._file = open(self.directory / _segment_name(self._current), "ab")
        self._writer = threading.Thread(target=self._write_loop, name="tracereel-wal-writer", daemon=True)
        self._writer.start()
        return self

    def close(self) -> None:
        """Write and sync what was appended, then stop; later appends raise :class:`LogClosed`."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    # -- appending -------------------------------------------------------------------------

    def append(self, payload: bytes) -> Future[None]:
        """Queue ``payload``; the future resolves once it is on disk (fsync'd), or fails.

        Raises :class:`LogFull` at once if the undrained bytes would pass ``max_bytes`` (one
        record alone is always taken, so no request is refused forever), and :class:`LogClosed`
        once :meth:`close` has begun. From async code: ``await asyncio.wrap_future(...)``.
        """
        size = _HEADER.size + len(payload)
        future: Future[None] = Future()
        with self._cond:
            if self._closing:
                raise LogClosed("the write-ahead log is closed")
            held = self._undrained + self._reserved
            if held and held + size > self.max_bytes:
                raise LogFull(f"the write-ahead log holds {held} bytes not yet stored (limit {self.max_bytes})")
            self._reserved += size
            self._queue.append((payload, future))
            if len(self._queue) == 1:
                self._cond.notify_all()
        return future

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                taken, self._queue = self._queue, []
            error: BaseException | None = None
            written: list[tuple[int, int, int, int]] = []
            try:
                written = self._write([payload for payload, _ in taken])
            except Exception as exc:  # a full or failing disk: those requests get an error, not a 200
                logger.error("write-ahead log: write failed: %s", exc)
                error = exc
            size = sum(_HEADER.size + len(payload) for payload, _ in taken)
            with self._cond:
                self._reserved -= size
                if error is None:
                    for segment, offset, end, appended in written:
                        self._index.setdefault(segment, []).append((offset, end, appended))
                    self._undrained += size
                    self.appended_records += len(taken)
                    self.syncs += 1
                    self._cond.notify_all()
            for _, future in taken:
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

    def _write(self, payloads: list[bytes]) -> list[tuple[int, int, int, int]]:
        """Write and sync ``payloads``; (segment, offset, end, append time) of each."""
        assert self._file is not None
        if self._current_size >= self.segment_bytes:
            self._rotate()
        now = time.time_ns()
        stamp = struct.pack("<Q", now)
        offset = self._current_size
        written: list[tuple[int, int, int, int]] = []
        chunks: list[bytes] = []
        for payload in payloads:
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(stamp)), now))
            chunks.append(payload)
            end = offset + _HEADER.size + len(payload)
            written.append((self._current, offset, end, now))
            offset = end
        try:
            self._file.write(b"".join(chunks))
            self._file.flush()
            if self._fsync:
                os.fdatasync(self._file.fileno())
        except BaseException:
            # What reached the file is not acknowledged: cut it off, so the next write starts whole.
            self._file.truncate(self._current_size)
            raise
        self._current_size = offset
        return written

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._current += 1
        self._current_size = 0
        self._file = open(self.directory / _segment_name(self._current), "ab")
        if self._fsync:
            _fsync_dir(self.directory)
        with self._cond:
            self._index[self._current] = []

    # -- draining --------------------------------------------------------------------------

    def wait(self, *, min_bytes: int, timeout: float) -> bool:
        """Block until ``min_bytes`` are undrained (True), or ``timeout`` seconds pass (False).

        Also True at once, with records undrained, while a batch is in flight, a reader waits
        for them (:meth:`wait_stored`) or the log is closing; False at once when it is closed
        and drained.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                urgent = self._intent is not None or self._closing or self._readers_waiting
                if self._undrained and (urgent or self._undrained >= min_bytes):
                    return True
                remaining = deadline - time.monotonic()
                if (self._closing and not self._undrained) or remaining <= 0:
                    return False
                self._cond.wait(remaining)

    def next_batch(self, max_bytes: int) -> Batch | None:
        """The next records to store (the batch in flight again, if it was never committed), or None.

        A batch holds records of one segment, at least one and up to ``max_bytes`` of payload.
        Its range is synced to disk before it is returned, so after a crash the same batch
        comes back first.
        """
        with self._cond:
            if self._intent is not None:
                segment, start, end = self._intent
                chosen = [r for r in self._index.get(segment, []) if start <= r[0] and r[1] <= end]
            else:
                segment = self._cursor[0]
                while not self._index.get(segment):
                    later = [s for s in self._index if s > segment]
                    if not later:
                        return None
                    # Every record of this segment is stored, and the writer has moved on.
                    self._retire(segment)
                    segment = min(later)
                    self._cursor = (segment, 0)
                chosen: list[tuple[int, int, int]] = []
                total = 0
                for record in self._index[segment]:
                    size = record[1] - record[0] - _HEADER.size
                    if chosen and total + size > max_bytes:
                        break
                    chosen.append(record)
                    total += size
                start, end = chosen[0][0], chosen[-1][1]
                self._intent = (segment, start, end)
                self._save_state()
        with open(self.directory / _segment_name(segment), "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        return Batch(
            segment=segment,
            start=start,
            end=end,
            records=[data[offset - start + _HEADER.size : stop - start] for offset, stop, _ in chosen],
            appended_ns=[appended for _, _, appended in chosen],
            token=f"{self.log_id}-{segment}-{start}-{end}",
        )

    def commit(self, batch: Batch) -> None:
        """Record that ``batch`` is stored: move the cursor past it and delete drained segments."""
        with self._cond:
            if self._intent != (batch.segment, batch.start, batch.end):
                raise ValueError(f"batch {batch.token} is not the batch in flight")
            records = self._index[batch.segment]
            self._undrained -= sum(r[1] - r[0] for r in records if r[0] < batch.end)
            self.stored_records += sum(1 for r in records if r[0] < batch.end)
            self._index[batch.segment] = [r for r in records if r[0] >= batch.end]
            self._cursor = (batch.segment, batch.end)
            self._intent = None
            self._save_state()
            self._cond.notify_all()

    def pending(self) -> Iterator[bytes]:
        """The payloads of the records not yet stored, oldest first (read from disk)."""
        with self._cond:
            ranges = [(n, list(records)) for n, records in sorted(self._index.items()) if records]
        for number, records in ranges:
            with open(self.directory / _segment_name(number), "rb") as handle:
                for offset, end, _ in records:
                    handle.seek(offset + _HEADER.size)
                    yield handle.read(end - offset - _HEADER.size)

    def wait_stored(self, records: int, timeout: float) -> bool:
        """Block until ``records`` records (counted as :attr:`appended_records`) are stored; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._readers_waiting += 1
            self._cond.notify_all()
            try:
                while self.stored_records < records:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._readers_waiting -= 1

    def _retire(self, segment: int) -> None:
        self._index.pop(segment, None)
        (self.directory / _segment_name(segment)).unlink(missing_ok=True)

    def _save_state(self) -> None:
        state = json.dumps({"cursor": list(self._cursor), "intent": list(self._intent) if self._intent else None})
        if self._fsync:
            _write_atomically(self.directory / _STATE, state)
        else:
            (self.directory / _STATE).write_text(state)

    # -- what /healthz reports -------------------------------------------------------------

    def _oldest_ns(self) -> int | None:
        for number in sorted(self._index):
            if self._index[number]:
                return self._index[number][0][2]
        return None

    @property
    def undrained_bytes(self) -> int:
        """Bytes appended (and synced) but not yet stored: the log's depth."""
        return self._undrained

    @property
    def undrained_records(self) -> int:
        """Records appended but not yet stored."""
        with self._cond:
            return sum(len(records) for records in self._index.values())

    def lag_seconds(self) -> float:
        """Age of the oldest record not yet stored (0 when the log is drained)."""
        with self._cond:
            oldest = self._oldest_ns()
        return 0.0 if oldest is None else max(time.time_ns() - oldest, 0) / 1e9
