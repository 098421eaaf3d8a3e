"""The one ingest path behind OTLP/HTTP and OTLP/gRPC: parse, drop re-sends, append to the log.

A request is acknowledged once its spans are in the write-ahead log (fsync'd); the drainer
stores them. Every refusal is an :class:`IngestError` carrying the HTTP status a peer expects;
each transport maps it to its own (gRPC: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracereel.collector.ingest.body import BodyError
from tracereel.collector.ingest.dedup import RecentSpans, drop_seen, span_keys
from tracereel.collector.ingest.otlp import OTLPError
from tracereel.collector.ingest.parsing import ParsePool, ParserUnavailable
from tracereel.collector.ingest.wal import LogClosed, LogFull, WriteAheadLog

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Accepted", "IngestError", "IngestPath", "table_to_ipc"]

_RETRY_AFTER_SECONDS = 1


class IngestError(Exception):
    """A request refused: ``status`` as OTLP/HTTP answers it, a message naming the problem."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether a client should send the same request again later."""
        return self.retry_after is not None


@dataclass(frozen=True)
class Accepted:
    """What an acknowledged request added: ``spans`` written to the log, ``duplicates`` dropped."""

    spans: int
    duplicates: int


def table_to_ipc(table: pa.Table) -> bytes:
    """An Arrow table as one IPC stream: the log's record format."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class IngestPath:
    """Validates a request and makes its spans durable in the log; shared by both transports."""

    def __init__(self, parser: ParsePool, log: WriteAheadLog, recent: RecentSpans, *, max_body_bytes: int) -> None:
        self.parser = parser
        self.log = log
        self.recent = recent
        self.max_body_bytes = max_body_bytes

    def remember_pending(self) -> int:
        """Put the spans still in the log into the re-send window (at start); returns how many."""
        from tracereel.collector.ingest.drain import ipc_to_table

        count = 0
        for payload in self.log.pending():
            keys = span_keys(ipc_to_table([payload]))
            self.recent.remember(keys)
            count += len(keys)
        return count

    async def accept(self, body: bytes, encoding: str, media_type: str, *, team: str = "") -> Accepted:
        """Parse ``body`` (OTLP ``media_type``, ``encoding`` e.g. gzip) and append its new spans to the log.

        Every span is stamped with ``team``: the team of the key that sent it (docs/security.md).

        Returns once they are on disk. Raises :class:`IngestError`; nothing is kept then.
        """
        try:
            table, count, ipc, keys = await self.parser.parse(body, encoding, media_type, self.max_body_bytes, team)
        except BodyError as exc:
            raise IngestError(exc.status, exc.message) from None
        except OTLPError as exc:
            raise IngestError(400, str(exc)) from None
        except ParserUnavailable as exc:
            raise IngestError(503, str(exc), _RETRY_AFTER_SECONDS) from None
        if not count:
            return Accepted(0, 0)
        kept, keys = drop_seen(self.recent, table, keys)
        if not kept.num_rows:
            return Accepted(0, count)
        # The worker's own bytes when nothing was dropped: encoding the table again costs as much.
        payload = ipc if ipc is not None and kept is table else table_to_ipc(kept)
        try:
            await asyncio.wrap_future(self.log.append(payload))
        except LogFull as exc:
            raise IngestError(503, f"collector is full: {exc}; retry later", _RETRY_AFTER_SECONDS) from None
        except LogClosed:
            raise IngestError(503, "collector is shutting down; retry later", _RETRY_AFTER_SECONDS) from None
        except OSError as exc:
            raise IngestError(503, f"collector cannot write its log ({exc}); retry later", 5) from None
        self.recent.remember(keys)
        return Accepted(kept.num_rows, count - kept.num_rows)
