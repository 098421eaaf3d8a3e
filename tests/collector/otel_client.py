"""A plain OpenTelemetry client (stock SDK, stock OTLP encoding) that sends hand-built spans with explicit times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

__all__ = ["MS", "T0_NS", "CollectorExporter", "OtelClient"]

# A fixed base time (ns) for built traces: 2026-01-01T00:00:00Z.
T0_NS = 1_767_225_600 * 10**9
MS = 10**6


class CollectorExporter(SpanExporter):
    """Sends spans as the stock OTLP/HTTP exporter does (same encoder, same request), through the
    collector's own client: in-process for an ``asgi_collector``, over a socket for a ``collector``.

    (The stock exporter needs a socket; ``test_ingest.py`` runs it against a real one.)
    """

    def __init__(self, collector: Any) -> None:
        self._collector = collector
        # The SDK only logs a failed export; OtelClient.wait() reports these instead.
        self.refused: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """POST ``spans`` to ``/v1/traces`` as OTLP protobuf."""
        body = encode_spans(spans).SerializePartialToString()
        with self._collector.client() as http:
            response = http.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
        if response.status_code != 200:
            self.refused.append(f"{response.status_code} {response.text}")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


@dataclass
class OtelClient:
    """The stock OpenTelemetry SDK exporting OTLP to a test collector, with explicit times."""

    collector: Any
    # One export per span (spans of a trace reach the store in many INSERTs), or one export for all
    # (each trace in one INSERT): the two paths of the metrics' per-task rollup.
    batch: bool = False
    providers: dict[str, TracerProvider] = field(default_factory=dict)
    exporters: list[CollectorExporter] = field(default_factory=list)
    sent: int = 0

    def _tracer(self, service: str) -> trace.Tracer:
        if service not in self.providers:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            exporter = CollectorExporter(self.collector)
            self.exporters.append(exporter)
            if self.batch:
                processor: Any = BatchSpanProcessor(
                    exporter, max_queue_size=100_000, max_export_batch_size=100_000, schedule_delay_millis=600_000
                )
            else:
                processor = SimpleSpanProcessor(exporter)
            provider.add_span_processor(processor)
            self.providers[service] = provider
        return self.providers[service].get_tracer("tests.metrics")

    def span(
        self,
        name: str,
        *,
        start_ms: float,
        duration_ms: float,
        parent: trace.Span | None = None,
        attributes: dict[str, Any] | None = None,
        error: bool = False,
        events: list[tuple[str, dict[str, Any]]] = (),
        service: str = "svc",
        end: bool = True,
    ) -> trace.Span:
        """One span starting ``start_ms`` after T0 (child of ``parent`` if given), ended unless ``end=False``."""
        context = trace.set_span_in_context(parent) if parent is not None else None
        start_ns = T0_NS + int(start_ms * MS)
        span = self._tracer(service).start_span(name, context=context, attributes=attributes or {}, start_time=start_ns)
        for event_name, event_attrs in events:
            span.add_event(event_name, event_attrs, timestamp=start_ns)
        if error:
            span.set_status(Status(StatusCode.ERROR, "failed"))
        span._tracereel_end_ns = start_ns + int(duration_ms * MS)  # type: ignore[attr-defined]
        if end:
            self.end(span)
        return span

    def end(self, span: trace.Span) -> None:
        """End a span opened with ``end=False`` at the end time it was given."""
        span.end(end_time=span._tracereel_end_ns)  # type: ignore[attr-defined]
        self.sent += 1

    def wait(self) -> None:
        """Wait until the collector has stored every span sent so far."""
        for provider in self.providers.values():
            provider.force_flush()
        refused = [answer for exporter in self.exporters for answer in exporter.refused]
        assert not refused, f"the collector refused spans: {refused}"
        self.collector.wait_for_spans(self.sent)

    def shutdown(self) -> None:
        """Shut the tracer providers down (exporting what a batch still holds)."""
        for provider in self.providers.values():
            provider.shutdown()
