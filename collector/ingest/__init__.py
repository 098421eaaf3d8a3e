"""Ingest: from an OTLP/HTTP request body to spans stored in bulk.

Reading and decompressing bodies with caps, decoding OTLP (protobuf or JSON) into columns in
worker processes, the bulk inserter that batches requests into few INSERTs, and the OTLP
responses. Imports the store only.
"""

from tracereel.collector.ingest.body import BodyError, decompress, read_capped
from tracereel.collector.ingest.inserter import BulkInserter, Overloaded, StoreWriteError
from tracereel.collector.ingest.otlp import OTLPError, SpanBatch, decode_json, decode_protobuf, to_columns
from tracereel.collector.ingest.parsing import ParsePool, ParserUnavailable, parse_body, resolve_workers
from tracereel.collector.ingest.responses import error_response, success_response

__all__ = [
    "BodyError",
    "BulkInserter",
    "OTLPError",
    "Overloaded",
    "ParsePool",
    "ParserUnavailable",
    "SpanBatch",
    "StoreWriteError",
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
