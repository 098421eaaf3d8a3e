"""Query speed: the metrics, the trace list and a trace by id over 10 million agent spans in the embedded store.

    .venv/bin/python bench/query.py [--spans 10000000] [--days 7] [--dir DIR] [--runs 5]

Fills a fresh chDB directory (a temp dir, or ``--dir``, which is reused if it already holds
spans) with synthetic traces of the demo's shape, inserted column-wise in large batches:
a supervisor agent (two versions) with a plan, an input guardrail, one or two sub-agents
(billing, tech_support, travel, research) each making LLM calls (several models, token
usage) and tool calls (JSON arguments and results, timeouts retried with the same
arguments, an occasional loop), a final LLM answer, output guardrail violations, human
escalations, outcomes and groundedness scores, spread over ``--days`` days up to now.

Then it serves the store with a real collector (uvicorn on 127.0.0.1) and times, over HTTP,
``GET /api/v1/metrics`` for the whole window, ``/api/v1/metrics/timeseries``, the trace list,
trace lookups by id and the canary verdict (``/api/v1/compare``, every task of both versions);
it prints the median and the worst of ``--runs`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tracereel.collector import CollectorSettings, Store, create_app
from tracereel.collector.query.hours import seal_hours
from tracereel.collector.store import INSERT_COLUMNS

SUBAGENTS = {
    "billing": ("2.3.1", ["get_invoice", "refund", "lookup_customer"]),
    "tech_support": ("3.0.4", ["search_kb", "run_diagnostic", "lookup_customer"]),
    "travel": ("1.2.0", ["search_flights", "book_flight", "get_weather"]),
    "research": ("0.9.2", ["web_search", "fetch_page", "summarize_pdf"]),
}
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku", "local-llama-3"]  # the last one is unpriced
MS = 1_000_000


class Columns:
    """Insert columns (``INSERT_COLUMNS`` order) being filled span by span."""

    def __init__(self) -> None:
        self.cols: list[list[Any]] = [[] for _ in INSERT_COLUMNS]
        self.count = 0

    def add(
        self,
        ts: int,
        trace_id: str,
        span_id: str,
        parent: str,
        name: str,
        attrs: dict[str, str],
        duration: int,
        error: bool = False,
        events: tuple[list[int], list[str], list[dict[str, str]]] = ([], [], []),
    ) -> None:
        c = self.cols
        c[0].append(ts)
        c[1].append(trace_id)
        c[2].append(span_id)
        c[3].append(parent)
        c[4].append("")
        c[5].append(name)
        c[6].append("Internal")
        c[7].append("agents-prod")
        c[8].append(RESOURCE)
        c[9].append("tracereel")
        c[10].append("0.1.0")
        c[11].append(attrs)
        c[12].append(duration)
        c[13].append("Error" if error else "Unset")
        c[14].append("failed" if error else "")
        c[15].append(events[0])
        c[16].append(events[1])
        c[17].append(events[2])
        for i in (18, 19, 20, 21):
            c[i].append([])
        c[22].append("")  # Team
        self.count += 1


RESOURCE = {"service.name": "agents-prod", "telemetry.sdk.language": "python", "deployment.environment": "prod"}


def synthesize_task(out: Columns, rng: random.Random, start: int, ids: list[str]) -> str:
    """Append one task's spans (about 14 on average); returns its trace id."""
    trace_id = ids.pop()
    root = ids.pop()[:16]
    t = start
    version = "1.5.0-rc.1" if rng.random() < 0.1 else "1.4.0"
    success = rng.random() < (0.78 if version != "1.4.0" else 0.86)
    root_attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "supervisor",
        "gen_ai.agent.version": version,
        "tracereel.entrypoint": "tracereel.demo.agents:supervisor",
        "tracereel.agent.input": json.dumps({"ticket": f"T-{rng.randrange(10**6)}", "text": "my invoice is wrong"}),
        "tracereel.agent.output": json.dumps({"answer": "refunded", "ok": success}),
        "tracereel.plan.steps": json.dumps(["triage", "delegate", "answer"][: rng.randint(2, 3)]),
        "tracereel.task.success": "true" if success else "false",
    }
    if rng.random() < 0.7:
        root_attrs["tracereel.groundedness"] = f"{rng.random():.3f}"
    children: list[tuple[Any, ...]] = []
    # Input guardrail.
    children.append(
        (
            t + MS,
            ids.pop()[:16],
            root,
            "guardrail input_pii",
            {"tracereel.guardrail.name": "input_pii", "tracereel.guardrail.verdict": "pass"},
            MS,
            False,
        )
    )
    t += 2 * MS
    for agent in rng.sample(list(SUBAGENTS), rng.choice((1, 1, 2))):
        agent_version, tools = SUBAGENTS[agent]
        sub = ids.pop()[:16]
        sub_start = t
        for _ in range(rng.randint(2, 4)):
            model = rng.choice(MODELS)
            llm_ms = rng.randint(300, 2500)
            children.append(
                (
                    t,
                    ids.pop()[:16],
                    sub,
                    f"chat {model}",
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": model,
                        "gen_ai.provider.name": "openai",
                        "gen_ai.usage.input_tokens": str(rng.randint(300, 4000)),
                        "gen_ai.usage.output_tokens": str(rng.randint(20, 500)),
                        "gen_ai.input.messages": '[{"role": "user", "content": "where is my refund?"}]',
                        "gen_ai.output.messages": '[{"role": "assistant", "tool_calls": [{"name": "get_invoice"}]}]',
                        "tracereel.args_hash": f"{rng.getrandbits(64):016x}",
                    },
                    llm_ms * MS,
                    False,
                )
            )
            t += llm_ms * MS
            tool = rng.choice(tools)
            args_hash = f"{rng.getrandbits(64):016x}"
            args = json.dumps({"id": rng.randrange(10**5)})
            repeats = 3 if rng.random() < 0.01 else 1  # an occasional loop
            for _ in range(repeats):
                attempt = 0
                while True:
                    timed_out = attempt < 2 and rng.random() < 0.04
                    other_error = not timed_out and rng.random() < 0.02
                    tool_ms = 5000 if timed_out else rng.randint(20, 400)
                    attrs = {
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": tool,
                        "gen_ai.tool.call.id": f"call_{rng.getrandbits(32):08x}",
                        "gen_ai.tool.call.arguments": args,
                        "tracereel.args_hash": args_hash,
                    }
                    events: tuple[list[int], list[str], list[dict[str, str]]] = ([], [], [])
                    if attempt:
                        attrs["tracereel.retry.attempt"] = str(attempt)
                    if timed_out or other_error:
                        attrs["error.type"] = "timeout" if timed_out else "ValueError"
                        events = ([t + tool_ms * MS], ["exception"], [{"exception.type": attrs["error.type"]}])
                    else:
                        attrs["gen_ai.tool.call.result"] = '{"status": "ok", "amount": 42.5}'
                    children.append(
                        (
                            t,
                            ids.pop()[:16],
                            sub,
                            f"execute_tool {tool}",
                            attrs,
                            tool_ms * MS,
                            timed_out or other_error,
                            events,
                        )
                    )
                    t += tool_ms * MS
                    attempt += 1
                    if not timed_out:
                        break
        children.append(
            (
                sub_start,
                sub,
                root,
                f"invoke_agent {agent}",
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": agent,
                    "gen_ai.agent.version": agent_version,
                    "tracereel.agent.input": '{"task": "delegated"}',
                },
                t - sub_start,
                False,
            )
        )
    model = rng.choice(MODELS[:2])
    answer_ms = rng.randint(300, 1500)
    children.append(
        (
            t,
            ids.pop()[:16],
            root,
            f"chat {model}",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": str(rng.randint(1000, 6000)),
                "gen_ai.usage.output_tokens": str(rng.randint(50, 600)),
                "gen_ai.input.messages": '[{"role": "system", "content": "answer"}]',
                "tracereel.args_hash": f"{rng.getrandbits(64):016x}",
            },
            answer_ms * MS,
            False,
        )
    )
    t += answer_ms * MS
    violation = rng.random() < 0.02
    children.append(
        (
            t,
            ids.pop()[:16],
            root,
            "guardrail output_policy",
            {
                "tracereel.guardrail.name": "output_policy",
                "tracereel.guardrail.verdict": "violation" if violation else "pass",
            },
            MS,
            False,
        )
    )
    if rng.random() < 0.03:
        children.append(
            (
                t + MS,
                ids.pop()[:16],
                root,
                "escalate human",
                {
                    "tracereel.escalation": "true",
                    "tracereel.escalation.reason": "refund over limit",
                    "tracereel.handoff.target_type": "human",
                },
                MS,
                False,
            )
        )
    t += 2 * MS
    out.add(
        start,
        trace_id,
        root,
        "",
        "invoke_agent supervisor",
        root_attrs,
        t - start,
        error=not success and rng.random() < 0.5,
    )
    for child in children:
        out.add(
            child[0],
            trace_id,
            child[1],
            child[2],
            child[3],
            child[4],
            child[5],
            child[6],
            *(child[7:] if len(child) > 7 else ()),
        )
    return trace_id


def fill(store: Store, spans: int, days: float, seed: int = 7) -> list[str]:
    """Insert about ``spans`` spans of tasks spread over the last ``days`` days; returns some trace ids."""
    rng = random.Random(seed)
    now = time.time_ns()
    window = int(days * 86400 * 10**9)
    batch_spans = 500_000
    inserted = 0
    sample: list[str] = []
    started = time.monotonic()
    while inserted < spans:
        out = Columns()
        hexes = os.urandom(16 * 200_000).hex()
        ids = [hexes[i : i + 32] for i in range(0, len(hexes), 32)]
        while out.count < min(batch_spans, spans - inserted) and len(ids) > 64:
            trace_id = synthesize_task(out, rng, now - rng.randrange(window), ids)
            if rng.random() < 0.001:
                sample.append(trace_id)
        store.insert_spans(out.cols)
        inserted += out.count
        rate = inserted / (time.monotonic() - started)
        print(f"  inserted {inserted:,} spans ({rate:,.0f} spans/s)", file=sys.stderr, flush=True)
    return sample


# Spans beyond this many are copies: synthesizing runs at about 20,000 spans/s in Python, copying
# inside the store several times faster (the views fire on the copies as on any INSERT).
SYNTHESIZED = 10_000_000
_COPY_COLUMNS = ", ".join(INSERT_COLUMNS)


def fill_copies(store: Store, spans: int) -> None:
    """Add copies of the synthesized spans until the store holds about ``spans``.

    Copy ``k`` gives every trace a new id (an MD5 of the old one and ``k``) and moves the whole trace
    by the same amount of under a second (from the same hash), so tasks stay whole, time-ordered and
    spread over the window, and no two copies collide. ``ScopeVersion`` marks a copy, so only the
    synthesized spans are copied.
    """
    original = store.query("SELECT count() FROM otel_traces WHERE ScopeVersion = '0.1.0'")[0][0]
    stored = store.query("SELECT count() FROM otel_traces")[0][0]
    copy = 1
    started = time.monotonic()
    while stored + original // 2 < spans:
        copied = store.query(f"SELECT count() FROM otel_traces WHERE ScopeVersion = 'copy-{copy}'")[0][0]
        if not copied:
            columns = _COPY_COLUMNS.replace(
                "Timestamp,", f"Timestamp + toIntervalNanosecond(cityHash64(TraceId, {copy}) % 1000000000),", 1
            )
            columns = columns.replace(" TraceId,", f" lower(hex(MD5(concat(TraceId, '/{copy}')))),", 1)
            columns = columns.replace(" ScopeVersion,", f" 'copy-{copy}',", 1)
            store.command(
                f"INSERT INTO otel_traces ({_COPY_COLUMNS}) SELECT {columns} FROM otel_traces "
                "WHERE ScopeVersion = '0.1.0'"
            )
            stored += original
            rate = stored / (time.monotonic() - started)
            print(f"  copy {copy}: {stored:,} spans ({rate:,.0f} spans/s)", file=sys.stderr, flush=True)
        copy += 1


def _time(fn: Any, runs: int) -> tuple[float, float, Any]:
    fn()  # warm-up
    timings = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), max(timings), result


def _visibility(http: httpx.Client, port: int, probes: int) -> dict[str, list[float]]:
    """Seconds from a probe trace's acknowledgement to its being found by each read, for ``probes`` traces."""
    from online import build_request  # bench/online.py, beside this file
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    rng = random.Random(11)
    lags: dict[str, list[float]] = {"list": [], "metrics": [], "search": []}
    for i in range(probes):
        agent = f"probe-{os.getpid()}-{i}"
        request = ExportTraceServiceRequest.FromString(build_request(rng, 1, time.time_ns(), agent=agent))
        # A word only this probe's input holds, for the search.
        root = next(sp for sp in request.resource_spans[0].scope_spans[0].spans if not sp.parent_span_id)
        for attribute in root.attributes:
            if attribute.key == "tracereel.agent.input":
                attribute.value.string_value = json.dumps({"text": agent})
        response = http.post(
            f"http://127.0.0.1:{port}/v1/traces",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        response.raise_for_status()
        acked = time.monotonic()
        window = {"from": str(time.time() - 3600), "to": str(time.time() + 60)}
        found: dict[str, bool] = {}
        while len(found) < len(lags):
            if "list" not in found and http.get("/api/v1/traces", params={"agent": agent, "limit": 1}).json()["traces"]:
                found["list"] = True
                lags["list"].append(time.monotonic() - acked)
            if (
                "metrics" not in found
                and http.get("/api/v1/metrics", params={"agent": agent, **window}).json()["tasks"]
            ):
                found["metrics"] = True
                lags["metrics"].append(time.monotonic() - acked)
            if "search" not in found and http.get("/api/v1/traces", params={"q": agent, "limit": 1}).json()["traces"]:
                found["search"] = True
                lags["search"].append(time.monotonic() - acked)
            time.sleep(0.05)  # a bench, not a test: it may poll
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--dir", help="chDB directory to fill, or reuse if it holds spans (default: a temp dir)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--ingest-rate",
        type=float,
        default=0.0,
        help="spans/s sent to the same collector while the queries run (bench/online.py's load generator), "
        "and how soon an acknowledged trace is visible in the list and the metrics",
    )
    args = parser.parse_args()

    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="tracereel-bench-"))
    store = Store.open(f"chdb://{directory}")
    try:
        existing = store.query("SELECT count() FROM otel_traces")[0][0]
        if existing:
            print(f"reusing {existing:,} spans in {directory}", file=sys.stderr)
            sample = [r[0] for r in store.query("SELECT TraceId FROM otel_traces WHERE IsRoot LIMIT 20")]
        else:
            print(f"filling {directory} with {args.spans:,} spans over {args.days:g} days", file=sys.stderr)
            t0 = time.monotonic()
            sample = fill(store, min(args.spans, SYNTHESIZED), args.days)
            print(f"filled in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        if args.spans > store.query("SELECT count() FROM otel_traces")[0][0] * 1.5:
            t0 = time.monotonic()
            fill_copies(store, args.spans)
            print(f"copied in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        total, tasks = store.query("SELECT count(), countIf(IsRoot) FROM otel_traces")[0]
        on_disk = store.query(
            "SELECT sum(bytes_on_disk), count() FROM system.parts WHERE table = 'otel_traces' AND active"
        )[0]
        print(f"store: {total:,} spans, {tasks:,} tasks, {on_disk[0] / 2**20:,.0f} MiB in {on_disk[1]} parts")
        everything = store.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE active")[0][0]
        print(f"store on disk, every table: {everything / 2**30:,.2f} GiB")
        # The collector seals finished hours in the background; a freshly filled store has them all to seal.
        t0, sealed = time.monotonic(), 0
        while done := seal_hours(store, limit=48):
            sealed += done
        print(f"sealed {sealed} hours in {time.monotonic() - t0:.0f} s")

        settings = CollectorSettings(host="127.0.0.1", port=0, store=store.url, grpc_port=0)
        import uvicorn

        with tempfile.TemporaryDirectory():
            from socket import socket

            with socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            window = {"from": str(time.time() - args.days * 86400 - 60), "to": str(time.time() + 60)}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:

                def get(path: str, **params: Any) -> Any:
                    response = http.get(path, params=params)
                    response.raise_for_status()
                    return response.json()

                cases = [
                    (f"GET /api/v1/metrics ({args.days:g}-day window)", lambda: get("/api/v1/metrics", **window)),
                    (
                        "GET /api/v1/metrics?version=1.5.0-rc.1",
                        lambda: get("/api/v1/metrics", version="1.5.0-rc.1", **window),
                    ),
                    (
                        "GET /api/v1/metrics/timeseries (1-hour buckets)",
                        lambda: get("/api/v1/metrics/timeseries", bucket="1h", **window),
                    ),
                    (
                        "GET /api/v1/metrics/breakdown?by=model",
                        lambda: get("/api/v1/metrics/breakdown", by="model", **window),
                    ),
                    ("GET /api/v1/traces?limit=50", lambda: get("/api/v1/traces", limit=50)),
                    (
                        "GET /api/v1/compare (1.5.0-rc.1 against 1.4.0)",
                        lambda: get(
                            "/api/v1/compare", agent="supervisor", baseline="1.4.0", canary="1.5.0-rc.1", **window
                        ),
                    ),
                ]
                loader = None
                if args.ingest_rate:
                    loader = subprocess.Popen(
                        [
                            sys.executable,
                            str(Path(__file__).with_name("online.py")),
                            "--load",
                            f"http://127.0.0.1:{port}",
                            str(args.ingest_rate),
                            "3600",
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    # Until the load generator's spans show in the store.
                    while not get("/api/v1/traces", limit=1, service="bench-agents")["traces"]:
                        time.sleep(0.1)
                ids = iter(sample * args.runs * 3)
                cases.append(("GET /api/v1/traces/{id}", lambda: get(f"/api/v1/traces/{next(ids)}")))
                # Full-text search (issue 24 part 3): a rare word (one task's ticket id), a word every task's
                # input holds, and two words in different spans of a task; the search table's size on disk.
                (ticket_input,) = store.query(
                    "SELECT SpanAttributes['tracereel.agent.input'] FROM otel_traces WHERE IsRoot LIMIT 1"
                )[0]
                ticket = json.loads(ticket_input)["ticket"]
                for q in (ticket, "invoice", "invoice get_invoice"):
                    cases.append(
                        (f"GET /api/v1/traces?q={q}&limit=50", lambda q=q: get("/api/v1/traces", q=q, limit=50))
                    )
                searched = store.query(
                    "SELECT sum(rows), sum(data_compressed_bytes), sum(secondary_indices_compressed_bytes) "
                    "FROM system.parts WHERE table = 'tracereel_search' AND active"
                )[0]
                print(
                    f"search table: {searched[0]:,} rows, {searched[1] / 2**20:,.0f} MiB data, "
                    f"{searched[2] / 2**20:,.0f} MiB text index"
                )
                print(f"\n{'query':52} {'median':>9} {'worst':>9}")
                for name, fn in cases:
                    median, worst, result = _time(fn, args.runs)
                    print(f"{name:52} {median * 1000:7.0f}ms {worst * 1000:7.0f}ms")
                    if name.startswith("GET /api/v1/metrics ("):
                        metrics = result
                if loader is not None:
                    visible = _visibility(http, port, probes=10)
                    loader.terminate()
                    print(f"load generator: {loader.communicate()[0].strip()}")
                    for what, lags in visible.items():
                        print(
                            f"ack -> visible in the {what}: median {statistics.median(lags):.2f} s, "
                            f"worst {max(lags):.2f} s over {len(lags)} probes"
                        )
                print("\nmetrics over the window:", json.dumps(metrics, indent=1))
            server.should_exit = True
            thread.join(30)
    finally:
        store.close()
        if not args.dir:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
