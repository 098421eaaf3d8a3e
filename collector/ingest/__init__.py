"""Ingest: from an OTLP request (HTTP or gRPC) to spans stored in bulk.

Reading and decompressing bodies with caps, decoding OTLP (protobuf or JSON) into columns in
worker processes, dropping re-sent spans, the write-ahead log that makes a request durable
before its 200, the drainer that stores the log in few large INSERTs, and the OTLP/HTTP
responses. Imports the store and control only.

Its names are imported on first use (see ``tracereel.collector``): a parse worker loads the
decoding modules only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracereel.collector.ingest.accept import Accepted, IngestError, IngestPath
    from tracereel.collector.ingest.body import BodyError, decompress, read_capped
    from tracereel.collector.ingest.dedup import RecentSpans
    from tracereel.collector.ingest.drain import Drainer
    from tracereel.collector.ingest.otlp import OTLPError, SpanBatch, decode_json, decode_protobuf, to_columns
    from tracereel.collector.ingest.parsing import ParsePool, ParserUnavailable, parse_body, resolve_workers
    from tracereel.collector.ingest.responses import error_response, success_response
    from tracereel.collector.ingest.wal import Batch, LogClosed, LogFull, LogInUse, WriteAheadLog

__all__ = [
    "Accepted",
    "Batch",
    "BodyError",
    "Drainer",
    "IngestError",
    "IngestPath",
    "LogClosed",
    "LogFull",
    "LogInUse",
    "OTLPError",
    "ParsePool",
    "ParserUnavailable",
    "RecentSpans",
    "SpanBatch",
    "WriteAheadLog",
    "decode_json",
    "decode_protobuf",
    "decompress",
    "error_response",
    "parse_body",
    "read_capped",
    "resolve_workers",
    "success_response",
    "to_columns",
]

# Each public name and the module it lives in, imported on first use.
_HOMES = {
    "Accepted": "tracereel.collector.ingest.accept",
    "Batch": "tracereel.collector.ingest.wal",
    "BodyError": "tracereel.collector.ingest.body",
    "Drainer": "tracereel.collector.ingest.drain",
    "IngestError": "tracereel.collector.ingest.accept",
    "IngestPath": "tracereel.collector.ingest.accept",
    "LogClosed": "tracereel.collector.ingest.wal",
    "LogFull": "tracereel.collector.ingest.wal",
    "LogInUse": "tracereel.collector.ingest.wal",
    "OTLPError": "tracereel.collector.ingest.otlp",
    "ParsePool": "tracereel.collector.ingest.parsing",
    "ParserUnavailable": "tracereel.collector.ingest.parsing",
    "RecentSpans": "tracereel.collector.ingest.dedup",
    "SpanBatch": "tracereel.collector.ingest.otlp",
    "WriteAheadLog": "tracereel.collector.ingest.wal",
    "decode_json": "tracereel.collector.ingest.otlp",
    "decode_protobuf": "tracereel.collector.ingest.otlp",
    "decompress": "tracereel.collector.ingest.body",
    "error_response": "tracereel.collector.ingest.responses",
    "parse_body": "tracereel.collector.ingest.parsing",
    "read_capped": "tracereel.collector.ingest.body",
    "resolve_workers": "tracereel.collector.ingest.parsing",
    "success_response": "tracereel.collector.ingest.responses",
    "to_columns": "tracereel.collector.ingest.otlp",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
