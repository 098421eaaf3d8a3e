"""Seeing a case run's own trace: marking its root span and collecting its spans as it runs.

The runner sets :data:`current` to a :class:`Capture` in the context the case runs in. The SDK's
span-start listener marks the first root span started in that context with the eval attributes
(run, dataset, case, variant) and remembers its trace id; the span-end listener collects every
span of that trace, converted to the read API's :class:`tracereel.traces.SpanJSON` shape, so the
scorers read a case run exactly as they would read a stored trace. Spans are routed by trace id,
not by context, so calls on threads the agent starts are still seen.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import StatusCode

from tracereel import semconv as sc
from tracereel.sdk import hooks
from tracereel.traces import SpanJSON, span_kind

__all__ = ["Capture", "current", "install", "release", "to_span_json"]


@dataclass
class Capture:
    """One case run's marks and the spans collected from its trace."""

    run_id: str
    dataset: str
    case_id: str
    variant: str | None
    trace_id: str | None = None
    spans: list[SpanJSON] = field(default_factory=list[SpanJSON])


current: contextvars.ContextVar[Capture | None] = contextvars.ContextVar("tracereel_eval_case", default=None)

_by_trace: dict[int, Capture] = {}
_lock = threading.Lock()
_installed = False


def _on_start(span: Span) -> None:
    capture = current.get()
    if capture is None or capture.trace_id is not None or span.parent is not None:
        return
    span.set_attribute(sc.EVAL_RUN_ID, capture.run_id)
    span.set_attribute(sc.EVAL_DATASET, capture.dataset)
    span.set_attribute(sc.EVAL_CASE_ID, capture.case_id)
    if capture.variant is not None:
        span.set_attribute(sc.EVAL_VARIANT, capture.variant)
    trace_id = span.get_span_context().trace_id
    capture.trace_id = format(trace_id, "032x")
    with _lock:
        _by_trace[trace_id] = capture


def _on_end(span: ReadableSpan) -> None:
    context = span.get_span_context()
    if context is None:
        return
    capture = _by_trace.get(context.trace_id)  # a dict read: safe without the lock
    if capture is not None:
        capture.spans.append(to_span_json(span))


def install() -> None:
    """Register the listeners once per process (they cost one context-variable read per span)."""
    global _installed
    with _lock:
        if _installed:
            return
        hooks.on_span_start(_on_start)
        hooks.on_span_end(_on_end)
        _installed = True


def release(capture: Capture) -> None:
    """Stop collecting spans for ``capture``'s trace (the case run is over)."""
    if capture.trace_id is not None:
        with _lock:
            _by_trace.pop(int(capture.trace_id, 16), None)


def _attribute(value: Any) -> Any:
    # The store keeps attributes as strings; scorers read the same shape from a run and a stored trace.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Sequence):
        return json.dumps(list(cast(Sequence[Any], value)), ensure_ascii=False, default=str)
    return str(value)


def to_span_json(span: ReadableSpan) -> SpanJSON:
    """A finished SDK span in the read API's shape."""
    context = span.get_span_context()
    parent = span.parent
    start = span.start_time or 0
    end = span.end_time or start
    status = span.status.status_code
    data: SpanJSON = {
        "span_id": format(context.span_id, "016x") if context else "",
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else "",
        "name": span.name,
        "start_time_unix_nano": start,
        "duration_ns": end - start,
        "status_code": "ERROR" if status is StatusCode.ERROR else "OK" if status is StatusCode.OK else "UNSET",
        "status_message": span.status.description or "",
        "attributes": {k: _attribute(v) for k, v in (span.attributes or {}).items()},
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.timestamp,
                "attributes": {k: str(v) for k, v in (event.attributes or {}).items()},
            }
            for event in span.events
        ],
    }
    data["kind"] = span_kind(data)
    return data
