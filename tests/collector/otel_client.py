"""A plain OpenTelemetry client (stock SDK + OTLP/HTTP exporter) that sends hand-built spans with explicit times."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

__all__ = ["MS", "T0_NS", "OtelClient"]

# A fixed base time (ns) for built traces: 2026-01-01T00:00:00Z.
T0_NS = 1_767_225_600 * 10**9
MS = 10**6


@dataclass
class OtelClient:
    """The stock OpenTelemetry SDK exporting over OTLP/HTTP to a test collector, with explicit times."""

    collector: Any
    # One export per span (spans of a trace reach the store in many INSERTs), or one export for all
    # (each trace in one INSERT): the two paths of the metrics' per-task rollup.
    batch: bool = False
    providers: dict[str, TracerProvider] = field(default_factory=dict)
    sent: int = 0

    def _tracer(self, service: str) -> trace.Tracer:
        if service not in self.providers:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            exporter = OTLPSpanExporter(endpoint=f"{self.collector.url}/v1/traces")
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
        self.collector.wait_for_spans(self.sent)
