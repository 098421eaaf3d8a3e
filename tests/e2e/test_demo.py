"""The demo agent system, end to end: run it against a real collector and read the store back.

Everything here goes through the collector's read API, so it checks what a user of the
dashboard would see: the mix of outcomes and failure modes, the agent hierarchy, the
spread of the timestamps, and that a seed always gives the same traces.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

import tracereel
from tests.support import claim_port, clean_env, wait_healthy, wait_until
from tracereel.demo import DemoError, run_demo

HOUR_NS = 3600 * 10**9
# Attributes that differ between two runs of the same seed by design: per-call random ids.
_VOLATILE = {"gen_ai.tool.call.id"}
_DEMO = [sys.executable, "-m", "tracereel", "demo"]

pytestmark = pytest.mark.e2e


def _traces(collector: Any, expected: int) -> dict[str, list[dict[str, Any]]]:
    """trace id → spans, for every trace in the store (checking there are ``expected``)."""
    with collector.client() as http:
        listed = http.get("/api/v1/traces", params={"limit": 1000, "from": "0"}).json()["traces"]
        assert len(listed) == expected
        return {t["trace_id"]: http.get(f"/api/v1/traces/{t['trace_id']}").json()["spans"] for t in listed}


def _root(spans: list[dict[str, Any]]) -> dict[str, Any]:
    roots = [s for s in spans if s["parent_span_id"] == ""]
    assert len(roots) == 1
    return roots[0]


def _attr(span: dict[str, Any], key: str) -> str | None:
    return span["attributes"].get(key)


def _call_key(span: dict[str, Any]) -> tuple[str, str | None]:
    return span["name"], _attr(span, "tracereel.args_hash")


def _siblings(spans: list[dict[str, Any]], kind: str) -> list[list[dict[str, Any]]]:
    """Spans of ``kind`` grouped by parent, each group in start order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        if span["kind"] == kind:
            groups[span["parent_span_id"]].append(span)
    return [sorted(g, key=lambda s: s["start_time_unix_nano"]) for g in groups.values()]


def _has_retry(spans: list[dict[str, Any]]) -> bool:
    """An identical tool call (same name and arguments) right after a failed one, under one parent."""
    return any(
        a["status_code"] == "ERROR"
        and _call_key(a) == _call_key(b)
        and b["start_time_unix_nano"] >= a["start_time_unix_nano"]
        for group in _siblings(spans, "tool")
        for a, b in itertools.pairwise(group)
    )


def _has_loop(spans: list[dict[str, Any]]) -> bool:
    """Three or more identical tool calls under one parent, none of them failed."""
    for group in _siblings(spans, "tool"):
        ok = Counter(_call_key(s) for s in group if s["status_code"] != "ERROR")
        if ok and max(ok.values()) >= 3:
            return True
    return False


def _shape(spans: list[dict[str, Any]]) -> Any:
    """The trace as a tree of (name, status, attributes), without ids and times."""
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        children[span["parent_span_id"]].append(span)

    def node(span: dict[str, Any]) -> Any:
        attrs = {k: v for k, v in span["attributes"].items() if k not in _VOLATILE}
        kids = sorted(children[span["span_id"]], key=lambda s: s["start_time_unix_nano"])
        events = [e["name"] for e in span["events"]]
        return (span["name"], span["status_code"], span["status_message"], attrs, events, [node(k) for k in kids])

    return node(_root(spans))


def test_demo_fills_the_store_with_a_realistic_mix(collector: Any) -> None:
    before = time.time_ns()
    result = run_demo(collector.url, tasks=200, seed=42, spread_hours=24)
    after = time.time_ns()
    collector.wait_for_spans(result.spans)
    traces = _traces(collector, 200)
    assert sorted(traces) == sorted(result.trace_ids)
    assert sum(len(spans) for spans in traces.values()) == result.spans
    everything = [s for spans in traces.values() for s in spans]
    roots = [_root(spans) for spans in traces.values()]

    # Outcomes: successes, failures, crashes, as the run reported them.
    outcomes = Counter(_attr(r, "tracereel.task.success") for r in roots)
    assert outcomes["true"] == result.succeeded
    assert 0.4 * 200 < result.succeeded < 0.9 * 200
    assert outcomes["false"] > 20
    assert 0 < result.crashed == sum(r["status_code"] == "ERROR" for r in roots) < result.failed

    # Two services, a supervisor in two versions (stable and canary) and a research assistant.
    assert {r["service_name"] for r in roots} == {"support-desk", "research-api"}
    versions = Counter((_attr(r, "gen_ai.agent.name"), _attr(r, "gen_ai.agent.version")) for r in roots)
    assert versions[("supervisor", "1.4.0")] > versions[("supervisor", "1.5.0-rc.1")] > 20
    assert versions[("research_assistant", "0.9.2")] > 10
    entrypoints = {_attr(r, "tracereel.entrypoint") for r in roots}
    assert "tracereel.demo.agents:supervisor" in entrypoints
    assert "tracereel.demo.agents:supervisor_canary" in entrypoints

    # Sub-agent handoffs: specialist agent spans directly under the supervisor, tools under them.
    by_id = {s["span_id"]: s for s in everything}
    handoffs = Counter(
        _attr(s, "gen_ai.agent.name")
        for s in everything
        if s["kind"] == "agent"
        and s["parent_span_id"]
        and by_id[s["parent_span_id"]]["parent_span_id"] == ""
        and _attr(by_id[s["parent_span_id"]], "gen_ai.agent.name") == "supervisor"
    )
    assert {"billing", "tech_support", "travel", "research"} <= set(handoffs)
    tool_parents = {_attr(by_id[s["parent_span_id"]], "gen_ai.agent.name") for s in everything if s["kind"] == "tool"}
    assert tool_parents == {"billing", "tech_support", "travel", "research"}

    # Tools: timeouts and other errors, retries with identical arguments, and loops.
    tool_errors = Counter(
        _attr(s, "error.type") for s in everything if s["kind"] == "tool" and s["status_code"] == "ERROR"
    )
    assert tool_errors["timeout"] > 5
    assert sum(n for kind, n in tool_errors.items() if kind != "timeout") > 5
    assert any(e["name"] == "exception" for s in everything if s["status_code"] == "ERROR" for e in s["events"])
    assert sum(_has_retry(spans) for spans in traces.values()) > 5
    assert sum(_has_loop(spans) for spans in traces.values()) >= 3

    # Guardrails with some violations, escalations to a human, groundedness on both sides of 0.5.
    verdicts = Counter(_attr(s, "tracereel.guardrail.verdict") for s in everything if s["kind"] == "guardrail")
    assert verdicts["pass"] > 100 and verdicts["violation"] > 5
    assert {_attr(s, "tracereel.guardrail.name") for s in everything if s["kind"] == "guardrail"} >= {
        "prompt_injection",
        "pii_leak",
        "refund_limit",
    }
    escalations = [s for s in everything if _attr(s, "tracereel.escalation") == "true"]
    assert len(escalations) > 5
    assert all(
        _attr(s, "tracereel.handoff.target_type") == "human" and _attr(s, "tracereel.escalation.reason")
        for s in escalations
    )
    scores = [float(v) for r in roots if (v := _attr(r, "tracereel.groundedness")) is not None]
    assert sum(g < 0.5 for g in scores) > 3 and sum(g >= 0.5 for g in scores) > 50

    # Plans on every task; several models, one of them missing from price tables; token usage.
    assert all(len(json.loads(_attr(r, "tracereel.plan.steps") or "[]")) >= 4 for r in roots)
    llm_spans = [s for s in everything if s["kind"] == "llm"]
    models = Counter(_attr(s, "gen_ai.request.model") for s in llm_spans)
    assert set(models) == {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "acme-llama-3.1-70b-ft"}
    assert all(int(_attr(s, "gen_ai.usage.input_tokens") or 0) > 0 for s in llm_spans if s["status_code"] != "ERROR")
    assert {_attr(s, "gen_ai.provider.name") for s in llm_spans} == {"openai", "anthropic", "vllm"}

    # Timestamps: spread over the past 24 hours, every quarter of the window has traffic, and
    # children stay inside their parents after the move.
    starts = sorted(r["start_time_unix_nano"] for r in roots)
    assert starts[0] >= before - 24 * HOUR_NS and starts[-1] <= after
    assert starts[-1] - starts[0] > 22 * HOUR_NS
    quarters = Counter(min(3, (s - (before - 24 * HOUR_NS)) // (6 * HOUR_NS)) for s in starts)
    assert sorted(quarters) == [0, 1, 2, 3] and min(quarters.values()) > 30
    assert all(r["start_time_unix_nano"] + r["duration_ns"] <= after for r in roots)
    for span in everything:
        if span["parent_span_id"]:
            parent = by_id[span["parent_span_id"]]
            assert parent["start_time_unix_nano"] <= span["start_time_unix_nano"]
            assert (
                span["start_time_unix_nano"] + span["duration_ns"]
                <= parent["start_time_unix_nano"] + parent["duration_ns"]
            )
    # Stretched: a scripted LLM call sleeps milliseconds, its span lasts a good part of a second.
    assert sorted(s["duration_ns"] for s in llm_spans)[len(llm_spans) // 2] > 0.3e9

    # The canary is worse (it crashes on foreign-currency refunds, has no loop guard): the gate over
    # the demo's day fails it, exit 1, on task success, whose interval lies below 0 at its level.
    versions = ["--canary", "1.5.0-rc.1", "--baseline", "1.4.0", "--window", "25h"]
    gated = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracereel",
            "gate",
            "--agent",
            "supervisor",
            *versions,
            "--json",
            "--collector",
            collector.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert gated.returncode == 1, gated.stdout + gated.stderr
    verdict = json.loads(gated.stdout)
    success = verdict["metrics"]["task_success_rate"]
    assert verdict["verdict"] == "fail" and success["verdict"] == "worse" and success["gate"] == "fail"
    assert success["ci"][1] < 0 and success["p_value"] < verdict["alpha"]
    assert success["canary"] < success["baseline"] - 0.1


def _placed(spans: list[dict[str, Any]]) -> tuple[int, int]:
    """Where the demo put a trace: (first start, last end) over its spans."""
    ends = (s["start_time_unix_nano"] + s["duration_ns"] for s in spans)
    return min(s["start_time_unix_nano"] for s in spans), max(ends)


def test_the_same_seed_gives_the_same_traces(collector: Any) -> None:
    before = time.time_ns()
    first = run_demo(collector.url, tasks=40, seed=7, spread_hours=2)
    again = run_demo(collector.url, tasks=40, seed=7, spread_hours=2)
    after = time.time_ns()
    other = run_demo(collector.url, tasks=40, seed=8, spread_hours=2)
    collector.wait_for_spans(first.spans + again.spans + other.spans)
    traces = _traces(collector, 120)
    assert (first.spans, first.succeeded, first.crashed) == (again.spans, again.succeeded, again.crashed)
    assert not set(first.trace_ids) & set(again.trace_ids)
    for a, b in zip(first.trace_ids, again.trace_ids, strict=True):
        assert _shape(traces[a]) == _shape(traces[b])
    # Same slots in the window for the same seed: every trace of the second run starts later by
    # the same amount, the time between the two runs' sends. A trace the demo pulled earlier so
    # that it ends by "now" (it ends exactly when its run's last trace does) has no slot to compare.
    placed = {t: _placed(traces[t]) for t in traces}
    end_a, end_b = (max(placed[t][1] for t in run.trace_ids) for run in (first, again))
    gaps = [
        placed[b][0] - placed[a][0]
        for a, b in zip(first.trace_ids, again.trace_ids, strict=True)
        if placed[a][1] != end_a and placed[b][1] != end_b
    ]
    assert len(gaps) >= 35 and len(set(gaps)) == 1, sorted(gaps)
    assert 0 < gaps[0] < after - before
    differing = sum(
        _shape(traces[a]) != _shape(traces[b]) for a, b in zip(first.trace_ids, other.trace_ids, strict=True)
    )
    assert differing > 30


def test_cli_runs_the_demo_in_a_subprocess_in_real_time(collector: Any, unused_port: int) -> None:
    before = time.time_ns()
    done = subprocess.run(
        [*_DEMO, "--endpoint", collector.url, "--tasks", "30", "--seed", "3", "--spread-hours", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(TRACEREEL_ENDPOINT=f"http://127.0.0.1:{unused_port}"),  # the option wins over the env var
    )
    after = time.time_ns()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "running 30 demo tasks (seed 3)"
    assert "  30/30 tasks run" in lines
    # The run's summary, then the simulated users' feedback (tracereel/demo/feedback.py).
    summary, feedback = lines[-2:]
    assert feedback.startswith("tracereel demo: ") and "simulated user feedbacks" in feedback
    assert (
        summary.startswith("tracereel demo: 30 tasks (")
        and f"sent to {collector.url}, in real time (seed 3)" in summary
    )
    spans_sent = int(summary.split(" spans sent")[0].rsplit(" ", 1)[1])
    collector.wait_for_spans(spans_sent)
    traces = _traces(collector, 30)
    assert sum(map(len, traces.values())) == spans_sent
    roots = sorted((_root(spans) for spans in traces.values()), key=lambda r: r["start_time_unix_nano"])
    for root in roots:
        assert before <= root["start_time_unix_nano"] and root["start_time_unix_nano"] + root["duration_ns"] <= after
    # Real time: the tasks ran back to back, and unstretched they still do not overlap.
    for earlier, later in itertools.pairwise(roots):
        assert earlier["start_time_unix_nano"] + earlier["duration_ns"] <= later["start_time_unix_nano"]


def test_cli_reads_the_endpoint_from_the_environment(collector: Any) -> None:
    done = subprocess.run(
        [*_DEMO, "--tasks", "3", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(TRACEREEL_ENDPOINT=collector.url),
    )
    assert done.returncode == 0, done.stderr
    assert f"sent to {collector.url}" in done.stdout.splitlines()[-2]
    assert len(_traces(collector, 3)) == 3


def test_cli_says_in_one_line_when_no_collector_answers(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    done = subprocess.run(
        [*_DEMO, "--endpoint", url, "--tasks", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: no tracereel collector answers at {url} (")
    assert line.endswith("); start one with `tracereel serve`")


def test_a_collector_that_wants_a_key_gets_it_or_the_demo_says_so(tmp_path: Any) -> None:
    # A real `tracereel serve` process, as in production, configured from the environment.
    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(TRACEREEL_API_KEY="s3cret", TRACEREEL_STORE=f"chdb://{tmp_path / 'store'}")
    server = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(url, server)
        with pytest.raises(DemoError, match=r"refused the demo's spans: .*401.*--api-key"):
            run_demo(url, tasks=3, seed=5)
        assert httpx.get(f"{url}/healthz").json()["stored_spans"] == 0
        result = run_demo(url, tasks=3, seed=5, api_key="s3cret")
        wait_until(
            lambda: httpx.get(f"{url}/healthz").json()["stored_spans"] >= result.spans,
            f"the collector to store the demo's {result.spans} spans",
        )
        listed = httpx.get(f"{url}/api/v1/traces", params={"from": "0"}, headers={"authorization": "Bearer s3cret"})
        assert sorted(t["trace_id"] for t in listed.json()["traces"]) == sorted(result.trace_ids)
    finally:
        server.terminate()
        server.wait(20)


def test_bad_arguments_are_refused_before_anything_runs(collector: Any) -> None:
    with pytest.raises(DemoError, match="--tasks must be at least 1"):
        run_demo(collector.url, tasks=0)
    with pytest.raises(DemoError, match="--spread-hours must be 0 or more"):
        run_demo(collector.url, spread_hours=-1)
    done = subprocess.run(
        [*_DEMO, "--endpoint", collector.url, "--tasks", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 2 and "--tasks" in done.stderr
    assert collector.app.state.log.appended_records == 0


def test_demo_traces_replay_from_the_store(collector: Any) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tracereel.replay import replay

    result = run_demo(collector.url, tasks=60, seed=42, spread_hours=1)
    collector.wait_for_spans(result.spans)
    traces = _traces(collector, 60)
    crashed = [t for t, spans in traces.items() if _root(spans)["status_code"] == "ERROR"]
    looped = [t for t, spans in traces.items() if _has_loop(spans)]
    retried = [t for t, spans in traces.items() if _has_retry(spans)]
    assert crashed and looped and retried
    # The replay is itself recorded; keep it in memory.
    tracereel.configure(service_name="replay", exporter=InMemorySpanExporter())
    try:
        for trace_id in result.trace_ids:
            report = replay({"trace_id": trace_id, "spans": traces[trace_id]})
            assert report.reproduced, report.summary()
    finally:
        tracereel.shutdown()
