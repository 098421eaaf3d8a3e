"""Replay speed: record a 1,000-call agent run into a real collector, then time its replay.

    .venv/bin/python bench/replay.py [--calls 1000] [--repeat 5]

Prints, in milliseconds: the recording run; a plain run of the same agent with instant
tool/LLM bodies (the SDK's own cost, no replay); the replay (tape built from the trace, entry
point called, every call served); and the replay engine's own overhead = replay - plain run.
The budget (README): the engine's overhead stays under 1 second for 1,000 calls.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from _collector import start_collector

import tracereel

FAST = {"on": False}  # the plain run: bodies return at once


@tracereel.tool
def lookup(item: int, region: str) -> dict:
    """A tool doing I/O (1 ms) in the recording."""
    if not FAST["on"]:
        time.sleep(0.001)
    return {"item": item, "region": region, "stock": (item * 7) % 13, "tags": ["a", "b", "c"]}


@tracereel.llm(model="bench-model")
def think(messages: list[dict], temperature: float = 0.3) -> dict:
    """An LLM call (2 ms) in the recording."""
    if not FAST["on"]:
        time.sleep(0.002)
    return {"content": f"ok {len(messages)} {messages[-1]['content'][:20]}", "usage": {"input_tokens": 40}}


@tracereel.agent(name="bench-worker")
def worker(shard: int, steps: int) -> int:
    total = 0
    for step in range(steps):
        found = lookup(shard * 1000 + step, region=random.choice(["eu", "us"]))
        reply = think([{"role": "user", "content": f"shard {shard} step {step} stock {found['stock']}"}])
        total += len(reply["content"])
    return total


@tracereel.agent(name="bench")
def bench_agent(calls: int) -> dict:
    shards = 10
    steps = calls // (2 * shards)  # each step is one tool call and one LLM call
    return {"total": sum(worker(shard, steps) for shard in range(shards)), "at": time.time()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from tracereel.replay import Tape, fetch_trace, list_traces, replay

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    with tempfile.TemporaryDirectory() as tmp:
        url, server, store = start_collector(tmp)
        try:
            tracereel.configure(endpoint=url, max_queue_size=8192, schedule_delay_millis=100)
            started = time.perf_counter()
            bench_agent(args.calls)
            record_ms = (time.perf_counter() - started) * 1000
            tracereel.flush(30)
            trace_id = list_traces(url, agent="bench", limit=1)[0]["trace_id"]
            trace = fetch_trace(trace_id, url)
        finally:
            server.should_exit = True
            time.sleep(0.5)
            store.close()

    # Replays export to nowhere: the export thread is not what we measure.
    tracereel.configure(exporter=Discard(), max_queue_size=8192)
    served_calls = sum(1 for s in trace["spans"] if s["kind"] in ("tool", "llm"))
    plain, replayed, tape_ms = [], [], []
    for _ in range(args.repeat):
        FAST["on"] = True
        started = time.perf_counter()
        bench_agent(args.calls)
        plain.append((time.perf_counter() - started) * 1000)
        FAST["on"] = False
        started = time.perf_counter()
        Tape(trace)
        tape_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        report = replay(trace)  # the recorded entry point: this script, loaded from its file
        replayed.append((time.perf_counter() - started) * 1000)
        assert report.reproduced, report.to_json()
        assert report.served == served_calls
    result = {
        "calls": served_calls,
        "spans": len(trace["spans"]),
        "record_ms": round(record_ms, 1),
        "plain_run_ms (SDK only, instant bodies)": round(statistics.median(plain), 1),
        "tape_build_ms": round(statistics.median(tape_ms), 1),
        "replay_ms": round(statistics.median(replayed), 1),
        "engine_overhead_ms (replay - plain run)": round(statistics.median(replayed) - statistics.median(plain), 1),
        "budget_ms": 1000,
    }
    print(json.dumps(result, indent=2))
    if result["engine_overhead_ms (replay - plain run)"] >= 1000:
        sys.exit("replay engine overhead is over budget")


if __name__ == "__main__":
    main()
