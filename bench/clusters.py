"""Failure clusters over 100,000 failing tasks: ``GET /api/v1/clusters?window=24h`` against a real collector.

    .venv/bin/python bench/clusters.py [--failures 100000] [--ok 50000] [--runs 5]

Fills a fresh chDB directory with ``--failures`` failing tasks spread over the last 23 hours,
beside ``--ok`` successful ones: tool errors of several tools and error types, guardrail
violations, success false with nothing in error, and a tenth of them judged by users
(thumbs-down with a comment, written to the scores table as feedback). Each kind says one of
a few things, with order numbers, amounts and one of 300 customer names mixed in, so the
text grouping has a few thousand distinct texts to compare. Then it times the clusters API
over HTTP: the first call (which makes and stores every cluster) and ``--runs`` calls after
it (which find the stored ones), and checks that the ids did not move.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _collector import start_collector
from query import Columns

from tracereel.collector.store import SCORES_TABLE

MS = 1_000_000
# (tool, error type, what the error says, what the agent answered): one signature each.
TOOL_FAILURES = [
    ("lookup_order", "TimeoutError", "lookup_order timed out after {n} s", "Sorry {name}, the order system is slow"),
    ("lookup_order", "KeyError", "order {n} is not in the orders table", "I cannot find order {n}, {name}"),
    ("refund", "PermissionError", "refund of {n} EUR needs approval", "{name}, a person must approve this refund"),
    ("refund", "ValueError", "amount {n} exceeds the order total", "The refund amount is wrong, {name}"),
    ("search_kb", "TimeoutError", "knowledge base search timed out", "I could not search the help articles"),
    ("send_email", "RateLimitError", "mail provider answered 429 too many requests", "Email to {name} not sent"),
    ("book_flight", "ConnectionError", "airline API connection reset", "Booking failed, {name}, try again"),
]
GUARDRAILS = [("pii_output", "The answer contained the card number of {name}"), ("toxicity", "rude reply")]
# Success false, nothing in error: what the agent said decides the cluster.
GAVE_UP = [
    "The refund of {n} EUR exceeds the refund limit for {name}",
    "Shipping address of {name} is missing the postcode",
    "I do not know how to answer questions about warranty claims",
]
COMMENTS = ["wrong answer about my refund", "it never arrived and the bot said delivered", "rude and unhelpful"]


def _names(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "ten", "vo", "sul", "dar", "ni", "pe", "quo", "ze"]
    return ["".join(rng.choice(syllables) for _ in range(3)).capitalize() for _ in range(300)]


def fill(store: Any, failures: int, ok: int, seed: int = 11) -> dict[str, str]:
    """Insert the tasks; returns the trace ids given a thumbs-down, with their comment."""
    rng = random.Random(seed)
    names = _names(rng)
    now = time.time_ns()
    window = 23 * 3600 * 10**9
    out = Columns()
    feedback: dict[str, str] = {}
    hexes = os.urandom(16 * 3 * (failures + ok)).hex()
    ids = [hexes[i : i + 32] for i in range(0, len(hexes), 32)]
    for i in range(failures + ok):
        trace_id, root, child = ids.pop(), ids.pop()[:16], ids.pop()[:16]
        start = now - rng.randrange(window)
        words = {"n": rng.randrange(10**6), "name": rng.choice(names)}
        kind = rng.random() if i < failures else 2.0
        status = ""
        tool, error, message, answer = "lookup_order", "", "", "Your order is on its way"
        guardrail = None
        success = "true"
        if kind < 0.6:
            tool, error, message, answer = rng.choice(TOOL_FAILURES)
            success, status = "false", message.format(**words)
        elif kind < 0.75:
            guardrail, answer = rng.choice(GUARDRAILS)
        elif kind < 0.9:
            success, answer = "false", rng.choice(GAVE_UP)
        elif kind < 1.0:
            feedback[trace_id] = rng.choice(COMMENTS)
        root_attrs = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": rng.choice(("support", "billing")),
            "tracereel.task.success": success,
            "tracereel.agent.output": answer.format(**words),
        }
        out.add(start, trace_id, root, "", "invoke_agent support", root_attrs, 900 * MS)
        tool_attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
        if error:
            tool_attrs["error.type"] = error
        out.add(start + MS, trace_id, child, root, f"execute_tool {tool}", tool_attrs, 300 * MS, error=bool(error))
        if error:
            out.cols[14][-1] = status  # the tool span's status message
        if guardrail:
            verdict = {"tracereel.guardrail.name": guardrail, "tracereel.guardrail.verdict": "violation"}
            out.add(start + 400 * MS, trace_id, child[::-1], root, f"guardrail {guardrail}", verdict, MS)
        if out.count >= 200_000:
            store.insert_spans(out.cols)
            out = Columns()
    if out.count:
        store.insert_spans(out.cols)
    time_now = datetime.now(timezone.utc)
    rows = [
        [f"bench:{t}", "", t, "user_feedback", -1.0, None, comment, "feedback", "", time_now]
        for t, comment in feedback.items()
    ]
    columns = ("ScoreId", "Team", "TraceId", "Name", "Value", "Label", "Comment", "Source", "Author", "Time")
    for i in range(0, len(rows), 50_000):
        store.insert_rows(SCORES_TABLE, rows[i : i + 50_000], columns)
    return feedback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", type=int, default=100_000)
    parser.add_argument("--ok", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracereel-bench-clusters-") as tmp:
        url, server, store = start_collector(str(Path(tmp) / "store"))
        try:
            started = time.perf_counter()
            fill(store, args.failures, args.ok)
            print(f"filled {args.failures:,} failing and {args.ok:,} ok tasks in {time.perf_counter() - started:.1f} s")
            with httpx.Client(base_url=url, timeout=600) as http:

                def clusters() -> list[dict[str, Any]]:
                    answer = http.get("/api/v1/clusters", params={"window": "24h"})
                    answer.raise_for_status()
                    return answer.json()["clusters"]

                started = time.perf_counter()
                first = clusters()
                cold = time.perf_counter() - started
                timings: list[float] = []
                later = first
                for _ in range(args.runs):
                    started = time.perf_counter()
                    later = clusters()
                    timings.append(time.perf_counter() - started)
            size = sum(c["size"] for c in first)
            stable = {c["id"]: c["size"] for c in first} == {c["id"]: c["size"] for c in later}
            signatures = len({c["signature"] for c in first})
            print(f"{len(first)} clusters of {size:,} failing tasks ({signatures} signatures)")
            print(f"first call (makes the clusters): {cold:.2f} s")
            print(f"later calls: median {statistics.median(timings):.2f} s, worst {max(timings):.2f} s")
            print(f"ids and sizes unchanged across calls: {stable}")
            for c in first[:5]:
                print(f"  {c['id']} {c['size']:>6} {c['signature']:<45} {', '.join(c['terms'][:5])}")
        finally:
            server.should_exit = True
            store.close()


if __name__ == "__main__":
    main()
