"""``configure(redact=...)``: the user's scrubber applied to attribute values before spans leave the process.

It runs in the exporter, on the batch processor's thread, so the agent's calls never wait for
it. A scrubber that raises (or returns something other than a string) is an internal error:
the value is replaced by ``<redacted:error>`` rather than sent as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["FAILED", "Redact", "RedactingExporter"]

Redact = Callable[[str, str], str]
FAILED = "<redacted:error>"


class RedactingExporter(SpanExporter):
    """Hands ``inner`` copies of the spans whose string attribute values went through ``redact``."""

    def __init__(self, inner: SpanExporter, redact: Redact, on_error: Callable[[str], None]) -> None:
        self.inner = inner
        self.redact = redact
        self.on_error = on_error

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._failed = False
        return self.inner.export([self._span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            try:
                out = self.redact(key, value)
                if not isinstance(out, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                    raise TypeError(f"the redact callable returned {type(out).__name__}, not str")
            except Exception:
                if not self._failed:  # one report per batch, not one per value
                    self._failed = True
                    self.on_error(f"running configure(redact=...) on attribute {key!r}")
                return FAILED
            return out
        if isinstance(value, tuple | list):
            return tuple(self._value(key, item) for item in value)  # pyright: ignore[reportUnknownVariableType]
        return value

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        return {key: self._value(key, value) for key, value in (attributes or {}).items()}

    def _span(self, span: ReadableSpan) -> ReadableSpan:
        events = [Event(event.name, self._attributes(event.attributes), event.timestamp) for event in span.events]
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
