"""OTLP/gRPC (``TraceService/Export``, port 4317): the same ingest path and limits as OTLP/HTTP.

Registered as a generic handler taking the raw request bytes, so the parse workers decode them
exactly as an OTLP/HTTP protobuf body (gRPC itself undoes gzip). Refusals follow the OTLP/gRPC
specification: INVALID_ARGUMENT for bad data; RESOURCE_EXHAUSTED for a message over the limit
(without RetryInfo: not retryable); UNAVAILABLE with RetryInfo when the collector is full.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2

# googleapis-common-protos ships no stubs; the three messages used here are plain protobuf classes.
from google.rpc import code_pb2, error_details_pb2, status_pb2  # pyright: ignore[reportMissingTypeStubs]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracereel.collector.api.auth import UNAUTHORIZED, principal_for
from tracereel.collector.control import KeyRing
from tracereel.collector.ingest.accept import IngestError, IngestPath
from tracereel.constants import PROTOBUF

__all__ = ["SERVICE", "OTLPGrpcServer"]

logger = logging.getLogger("tracereel.collector")

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_OK = ExportTraceServiceResponse().SerializeToString()


def _code(error: IngestError) -> grpc.StatusCode:
    if error.retryable:
        return grpc.StatusCode.UNAVAILABLE
    if error.status == 413:
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    return grpc.StatusCode.INVALID_ARGUMENT


def _retry_info(message: str, seconds: int) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata telling a client when to retry: google.rpc.Status with a RetryInfo detail."""
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds)))
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),)


class OTLPGrpcServer:
    """A grpc.aio server for OTLP trace export, on ``host:port`` (port 0: any free port)."""

    def __init__(self, ingest: IngestPath, keys: KeyRing, *, host: str, port: int, max_message_bytes: int) -> None:
        self._ingest = ingest
        self._keys = keys
        self._address = f"{host}:{port}"
        self._max = max_message_bytes
        self._server: Any = None
        self.port = 0

    async def _export(self, request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        # The key as OTLP/HTTP takes it, from the "authorization" metadata (gRPC lower-cases keys).
        metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
        principal = principal_for(self._keys, metadata.get("authorization", ""))
        if principal is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHORIZED)
            raise AssertionError("unreachable: abort raises")
        if not principal.has_role("ingest"):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"this key's role is {principal.role}; this needs the ingest role"
            )
        try:
            await self._ingest.accept(request, "", PROTOBUF, team=principal.team or "")
        except IngestError as exc:
            trailing = _retry_info(exc.message, exc.retry_after) if exc.retry_after is not None else ()
            await context.abort(_code(exc), exc.message, trailing_metadata=trailing)
        return _OK

    def bind(self) -> int:
        """Create the server and bind its port, taking no calls yet; returns the port bound.

        Call it on the event loop that will run the server. A port that cannot be bound is an
        OSError naming the address, raised here rather than in the app's lifespan, so the caller
        can report it in one line.
        """
        if self._server is not None:
            return self.port
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", self._max), ("grpc.so_reuseport", 0)])
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(self._export)}
        )
        server.add_generic_rpc_handlers((handler,))
        try:
            port = server.add_insecure_port(self._address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen for OTLP/gRPC on {self._address}: {exc}") from None
        if not port:  # older grpc versions answer 0 instead of raising
            raise OSError(f"cannot listen for OTLP/gRPC on {self._address}")
        self._server, self.port = server, port
        return port

    async def start(self) -> int:
        """Bind (unless :meth:`bind` already did) and start serving; returns the port bound."""
        self.bind()
        await self._server.start()
        return self.port

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking calls; calls in progress get ``grace`` seconds to finish."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
