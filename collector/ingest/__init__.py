"""Ingest: from an OTLP request (HTTP or gRPC) to spans stored in bulk.

Reading and decompressing bodies with caps, decoding OTLP (protobuf or JSON) into columns in
worker processes, dropping re-sent spans, the write-ahead log that makes a request durable
before its 200, the drainer that stores the log in few large INSERTs, and the OTLP/HTTP
responses. Imports the store and control only.
"""

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
