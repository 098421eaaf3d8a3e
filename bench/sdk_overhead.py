"""What ``@tracereel.tool`` costs the agent's thread, against a bare OpenTelemetry span.

    .venv/bin/python bench/sdk_overhead.py [--calls 20000] [--rounds 7]

Both sides run in this process with the same kind of pipeline (the SDK's BatchSpanProcessor
feeding an exporter that drops everything, so network cost is out of the picture) and record
the same attributes: GenAI operation and tool name, a call id, the arguments and the result as
JSON and an args hash. The bare side computes its JSON inline, as hand-written
instrumentation would; the decorated side does what the SDK does (binding arguments,
canonical JSON, hashing, the replay seam). Target: decorated <= 1.5x bare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tracereel


class DropExporter(SpanExporter):
    """Accepts and forgets every span."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def search_impl(query: str, limit: int) -> list[dict[str, object]]:
    return [{"id": i, "title": f"{query} #{i}"} for i in range(limit)]


def make_bare() -> Callable[[str, int], list[dict[str, object]]]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter(), max_queue_size=100_000))
    tracer = provider.get_tracer("bare")

    def bare(query: str, limit: int) -> list[dict[str, object]]:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
            "gen_ai.tool.call.id": "call_0123456789abcdef",
            "gen_ai.tool.call.arguments": json.dumps({"query": query, "limit": limit}),
            "tracereel.args_hash": "0123456789abcdef",
        }
        with tracer.start_as_current_span("execute_tool search", attributes=attributes) as span:
            result = search_impl(query, limit)
            span.set_attribute("gen_ai.tool.call.result", json.dumps(result))
            return result

    return bare


def make_decorated() -> Callable[[str, int], list[dict[str, object]]]:
    tracereel.configure(service_name="bench", exporter=DropExporter(), max_queue_size=100_000)

    @tracereel.tool(name="search")
    def search(query: str, limit: int) -> list[dict[str, object]]:
        return search_impl(query, limit)

    return search


def per_call_us(fn: Callable[[str, int], object], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn("refund policy", 3 + (i & 1))
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    """Run both sides in alternating rounds and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bare, decorated = make_bare(), make_decorated()
    per_call_us(bare, 2000)  # warm up
    per_call_us(decorated, 2000)
    bare_times, decorated_times = [], []
    for _ in range(args.rounds):
        bare_times.append(per_call_us(bare, args.calls))
        decorated_times.append(per_call_us(decorated, args.calls))
    b, d = statistics.median(bare_times), statistics.median(decorated_times)
    print(f"bare OpenTelemetry span:   {b:6.1f} us/call (median of {args.rounds} rounds of {args.calls})")
    print(f"@tracereel.tool:           {d:6.1f} us/call")
    print(f"ratio: {d / b:.2f}x (target <= 1.5x); dropped spans: {tracereel.dropped_spans()}")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
