"""Eval engine speed: 200 golden cases of ~10 recorded calls each, from tape and with a live model.

    .venv/bin/python bench/eval.py [--cases 200] [--steps 5]

1. Records ``--cases`` runs of an agent making ``--steps`` tool calls and ``--steps`` LLM calls
   into a real collector, and turns each into a golden case (``add_case``: fetched, exported).
2. Tape: times the agent code itself (the same 200 runs, instant bodies, SDK only) and
   ``tracereel eval`` of the golden set (tools and LLM from the tape, sequential). The engine's
   overhead = eval - plain runs; budget 2 s.
3. Live model: each case makes one more call, to a local fake OpenAI-compatible server answering
   in 100 ms, run with ``--llm live --concurrency 8``; budget 5 s (the floor is 200 x 0.1 / 8 = 2.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _collector import start_collector

import tracereel

ROOT = Path(__file__).resolve().parent.parent
FAST = {"on": False}


@tracereel.tool
def fetch(item: int) -> dict:
    """A tool doing I/O (1 ms) in the recording."""
    if not FAST["on"]:
        time.sleep(0.001)
    return {"item": item, "stock": (item * 7) % 13, "note": f"item {item} is in aisle {item % 9}"}


@tracereel.llm(model="bench-model")
def think(prompt: str) -> str:
    """An LLM call (1 ms) in the recording."""
    if not FAST["on"]:
        time.sleep(0.001)
    return f"ok {prompt[:24]}"


@tracereel.llm(model="fake-openai")
def ask(prompt: str) -> str:
    """A real HTTP call to the OpenAI-compatible endpoint in BENCH_LLM_URL."""
    body = json.dumps({"model": "fake", "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(
        os.environ["BENCH_LLM_URL"] + "/chat/completions", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["choices"][0]["message"]["content"])


@tracereel.agent(name="bench-eval")
def agent(case: int, steps: int = 5, live: bool = False) -> str:
    notes = []
    for step in range(steps):
        found = fetch(case * 100 + step)
        notes.append(think(f"case {case} step {step} stock {found['stock']}"))
    if live:
        notes.append(ask(f"summarise case {case}"))
    return f"{case}: {len(notes)} notes, last {notes[-1]}"


def _record(url: str, cases: int, steps: int, live: bool, path: Path) -> None:
    from tracereel.client import CollectorClient
    from tracereel.evals import add_case
    from tracereel.replay import list_traces

    since = time.time() - 1
    for case in range(cases):
        agent(case, steps, live)
    tracereel.flush(60)
    found: list[Any] = []
    while len(found) < cases:
        found = list_traces(url, agent="bench-eval", since=str(since), limit=cases + 10)
        time.sleep(0.1)
    client = CollectorClient(url)
    for summary in found:
        add_case(path, summary["trace_id"], client=client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fake_openai import FakeOpenAI
    from tracereel.evals import RunOptions, evaluate
    from tracereel.replay import DiscardExporter

    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(lambda request: "fine") as fast_llm:
        os.environ["BENCH_LLM_URL"] = fast_llm.base_url
        tape_set, live_set = Path(tmp) / "tape.jsonl", Path(tmp) / "live.jsonl"
        url, server, store = start_collector(str(Path(tmp) / "store"))
        try:
            tracereel.configure(endpoint=url, max_queue_size=65536, schedule_delay_millis=100)
            _record(url, args.cases, args.steps, False, tape_set)
            _record(url, args.cases, args.steps, True, live_set)
        finally:
            server.should_exit = True
            time.sleep(0.5)
            store.close()

        tracereel.configure(exporter=DiscardExporter(), max_queue_size=65536)
        FAST["on"] = True
        started = time.perf_counter()
        for case in range(args.cases):
            agent(case, args.steps)
        plain = time.perf_counter() - started
        started = time.perf_counter()
        report = evaluate(tape_set, RunOptions())
        tape = time.perf_counter() - started
        assert report.pass_rate == 1.0, [c.error for c in report.cases if not c.passed][:3]

        with FakeOpenAI(lambda request: "fine", latency=0.1) as slow_llm:
            os.environ["BENCH_LLM_URL"] = slow_llm.base_url
            started = time.perf_counter()
            live_report = evaluate(live_set, RunOptions(llm="live", concurrency=8))
            live = time.perf_counter() - started
            assert live_report.pass_rate == 1.0, [c.error for c in live_report.cases if not c.passed][:3]
            assert len(slow_llm.requests) == args.cases

    calls = args.cases * args.steps * 2
    result = {
        "cases": args.cases,
        "recorded_calls": calls,
        "plain_runs_s (the agent code, SDK only)": round(plain, 3),
        "eval_tape_s": round(tape, 3),
        "engine_overhead_s (eval - plain)": round(tape - plain, 3),
        "overhead_budget_s": 2.0,
        "eval_llm_live_concurrency_8_s (100 ms model)": round(live, 3),
        "live_budget_s": 5.0,
    }
    print(json.dumps(result, indent=2))
    if tape - plain > 2.0 or live > 5.0:
        sys.exit("eval engine is over budget")


if __name__ == "__main__":
    main()
