"""The SDK's process-wide state: tracer provider, exporter, drop counter, internal errors.

Nothing here may raise into agent code: internal failures are logged and swallowed
(re-raised under pytest, so our own tests see them).
"""

from __future__ import annotations

import logging
import os
import random
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from tracereel.sdk.settings import resolve

__all__ = [
    "configure",
    "dropped_spans",
    "flush",
    "internal_error",
    "is_configured",
    "shutdown",
    "tracer",
]

logger = logging.getLogger("tracereel")
_VERSION = "0.1.0"


def internal_error(what: str) -> None:
    """Log an internal SDK failure; the agent keeps running. Re-raises under pytest."""
    if os.environ.get("PYTEST_CURRENT_TEST") and not os.environ.get("TRACEREEL_SWALLOW_ERRORS"):
        raise
    logger.exception("tracereel: internal error while %s; your agent keeps running", what)


class _PrivateIdGenerator(IdGenerator):
    """Span and trace ids from a private RNG.

    The default generator draws from the module-level ``random``; replay serves ``random``
    from the recording, so ids must come from a generator replay does not touch.
    """

    def __init__(self) -> None:
        self._rng = random.Random(int.from_bytes(os.urandom(16), "big"))
        self._lock = threading.Lock()

    def generate_span_id(self) -> int:
        with self._lock:
            while True:
                value = self._rng.getrandbits(64)
                if value:
                    return value

    def generate_trace_id(self) -> int:
        with self._lock:
            while True:
                value = self._rng.getrandbits(128)
                if value:
                    return value


class _CountingBatchSpanProcessor(BatchSpanProcessor):
    """The stock batch processor, counting the spans it drops when its queue is full.

    The stock processor silently drops the oldest span once ``max_queue_size`` spans wait;
    we refuse the newest instead and count it, so the loss is visible.
    """

    def __init__(self, exporter: SpanExporter, *, max_queue_size: int, **kwargs: Any) -> None:
        super().__init__(exporter, max_queue_size=max_queue_size, **kwargs)
        self._max_queue = max_queue_size
        self.dropped = 0
        self._warned = False

    def on_end(self, span: ReadableSpan) -> None:
        queue = getattr(getattr(self, "_batch_processor", None), "_queue", None)
        if queue is not None and len(queue) >= self._max_queue:
            self.dropped += 1
            if not self._warned:
                self._warned = True
                logger.warning(
                    "tracereel: export queue is full (%d spans); dropping new spans and counting them. "
                    "Is the collector reachable? tracereel.dropped_spans() tells how many.",
                    self._max_queue,
                )
            return
        super().on_end(span)


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.provider: TracerProvider | None = None
        self.processor: _CountingBatchSpanProcessor | None = None
        self.tracer: trace.Tracer | None = None
        self.dropped_before = 0


_state = _State()


def _otlp_exporter(endpoint: str, api_key: str | None, timeout: float) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    headers = {"authorization": f"Bearer {api_key}"} if api_key else None
    return OTLPSpanExporter(endpoint=url, headers=headers, timeout=timeout, compression=Compression.Gzip)


def configure(
    service_name: str | None = None,
    endpoint: str | None = None,
    api_key: str | None = None,
    *,
    exporter: SpanExporter | None = None,
    max_queue_size: int | None = None,
    max_export_batch_size: int | None = None,
    schedule_delay_millis: int | None = None,
    export_timeout_seconds: float | None = None,
    resource_attributes: dict[str, str] | None = None,
) -> None:
    """Configure where and how tracereel exports spans.

    Each setting is taken from its argument, else its environment variable
    (``OTEL_SERVICE_NAME``, ``TRACEREEL_ENDPOINT``, ``TRACEREEL_API_KEY``,
    ``TRACEREEL_MAX_QUEUE_SIZE``, ...), else its default. Code that never calls
    ``configure()`` is configured from the environment on first use. ``exporter`` replaces
    the OTLP/HTTP exporter (for tests: an ``InMemorySpanExporter``). Calling it again
    flushes and replaces the previous configuration.
    """
    service = resolve("service_name", service_name)
    queue = resolve("max_queue_size", max_queue_size)
    batch = min(resolve("max_export_batch_size", max_export_batch_size), queue)
    delay = resolve("schedule_delay_millis", schedule_delay_millis)
    timeout = resolve("export_timeout_seconds", export_timeout_seconds)
    if exporter is None:
        exporter = _otlp_exporter(resolve("endpoint", endpoint), resolve("api_key", api_key), timeout)
    attributes: dict[str, str] = {
        "service.name": service,
        "telemetry.sdk.language": "python",
        "tracereel.sdk.version": _VERSION,
    }
    attributes.update(resource_attributes or {})
    provider = TracerProvider(
        resource=Resource.create(attributes), id_generator=_PrivateIdGenerator(), shutdown_on_exit=True
    )
    processor = _CountingBatchSpanProcessor(
        exporter,
        max_queue_size=queue,
        max_export_batch_size=batch,
        schedule_delay_millis=delay,
        export_timeout_millis=int(timeout * 1000),
    )
    provider.add_span_processor(processor)
    with _state.lock:
        old, old_processor = _state.provider, _state.processor
        _state.provider, _state.processor = provider, processor
        _state.tracer = provider.get_tracer("tracereel", _VERSION)
        if old_processor is not None:
            _state.dropped_before += old_processor.dropped
    if old is not None:
        old.shutdown()


def is_configured() -> bool:
    """Whether the SDK has an exporter (``configure()`` ran, explicitly or on first use)."""
    return _state.tracer is not None


def tracer() -> trace.Tracer:
    """The tracer the SDK's boundaries use; configures from the environment on first use."""
    current = _state.tracer
    if current is None:
        with _state.lock:
            configured = _state.tracer is not None
        if not configured:
            configure()
        current = _state.tracer
    assert current is not None
    return current


def flush(timeout_seconds: float = 5.0) -> bool:
    """Export every span still queued; True if all were exported within the timeout."""
    provider = _state.provider
    if provider is None:
        return True
    return provider.force_flush(int(timeout_seconds * 1000))


def shutdown() -> None:
    """Flush and stop exporting; the next span configures the SDK again from the environment."""
    with _state.lock:
        provider, processor = _state.provider, _state.processor
        _state.provider = _state.processor = _state.tracer = None
        if processor is not None:
            _state.dropped_before += processor.dropped
    if provider is not None:
        provider.shutdown()


def dropped_spans() -> int:
    """How many spans were dropped because the export queue was full, since the process started."""
    processor = _state.processor
    return _state.dropped_before + (processor.dropped if processor is not None else 0)
