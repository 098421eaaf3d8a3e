"""Online evaluation: the evaluator's throughput and its lag, with the collector ingesting beside it.

    .venv/bin/python bench/online.py [--rate 10000] [--backlog 6000] [--seconds 30] [--sample 0.2]

Starts ``tracereel serve`` as its own process over a fresh chDB directory, and a load generator
(this file with ``--load``, its own process) that offers ``--rate`` spans/s of agent-shaped
traces (10 spans each: an agent root with its input and output, LLM and tool calls), each
trace ending as it is sent. The evaluator (:class:`tracereel.evals.online.Evaluator`, the code
``tracereel evaluator`` runs) runs in this process, through the HTTP client like the CLI's.

1. Throughput: ``--backlog`` traces are stored first; with the load running, one pass scores
   them all for a rule of deterministic scorers (max_steps, tool_not_called, escalated) at
   sample 1.0. Prints traces/s.
2. Lag: a rule at ``--sample`` on the live traffic, the evaluator polling; for ``--seconds``
   every scored trace's lag (scores posted minus the trace's end) is kept. Prints p50/p99/max.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPANS_PER_TRACE = 10
SCORERS = ["max_steps=20", "tool_not_called=issue_refund", "escalated=false"]


def _kv(key: str, value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def build_request(rng: random.Random, traces: int, end_ns: int, agent: str = "support") -> bytes:
    """``traces`` agent traces ending at ``end_ns``, as one OTLP protobuf request."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "bench-agents")])
    scope = rs.scope_spans.add()
    scope.scope.name = "tracereel"
    for _ in range(traces):
        trace_id, root_id = rng.randbytes(16), rng.randbytes(8)
        start = end_ns - 2_000_000_000
        ticket = f"T-{rng.randrange(10**6)}"
        scope.spans.append(
            Span(
                trace_id=trace_id,
                span_id=root_id,
                name=f"invoke_agent {agent}",
                start_time_unix_nano=start,
                end_time_unix_nano=end_ns,
                attributes=[
                    _kv("gen_ai.operation.name", "invoke_agent"),
                    _kv("gen_ai.agent.name", agent),
                    _kv("tracereel.entrypoint", "app.agents:support"),
                    _kv("tracereel.agent.input", json.dumps({"ticket": ticket})),
                    _kv("tracereel.agent.output", json.dumps(f"order of {ticket} shipped")),
                ],
            )
        )
        for step in range(SPANS_PER_TRACE - 1):
            is_llm = step % 2 == 0
            attrs = (
                [_kv("gen_ai.operation.name", "chat"), _kv("gen_ai.request.model", "gpt-4o-mini")]
                if is_llm
                else [
                    _kv("gen_ai.operation.name", "execute_tool"),
                    _kv("gen_ai.tool.name", "lookup_order"),
                    _kv("gen_ai.tool.call.arguments", json.dumps({"ticket": ticket})),
                    _kv("gen_ai.tool.call.result", json.dumps({"status": "shipped"})),
                ]
            )
            s0 = start + step * 200_000_000
            scope.spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=rng.randbytes(8),
                    parent_span_id=root_id,
                    name="chat gpt-4o-mini" if is_llm else "execute_tool lookup_order",
                    start_time_unix_nano=s0,
                    end_time_unix_nano=s0 + 150_000_000,
                    attributes=attrs,
                )
            )
    return request.SerializeToString()


def _offer(url: str, rate: float, seconds: float, seed: int, stop: threading.Event, out: list[tuple[int, int]]) -> None:
    """One connection offering ``rate`` spans/s (open loop, 50 traces a request); appends (sent, refused) to ``out``."""
    rng = random.Random(seed)
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    period = _PER_REQUEST * SPANS_PER_TRACE / rate
    start, sent, refused = time.monotonic(), 0, 0
    while time.monotonic() - start < seconds and not stop.is_set():
        delay = start + sent * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = build_request(rng, _PER_REQUEST, time.time_ns())
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
        response = conn.getresponse()
        response.read()
        refused += response.status != 200
        sent += 1
    out.append((sent, refused))  # list.append is atomic: no lock for the threads' results


_PER_REQUEST = 50
# Connections the load generator sends on: while one waits for the collector's answer, another
# builds its next request (one connection reached about 8,200 of 10,000 spans/s on this machine).
_CONNECTIONS = 2


def load(url: str, rate: float, seconds: float) -> None:
    """Offer ``rate`` spans/s for ``seconds`` over :data:`_CONNECTIONS` connections, each trace ending as it is sent."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    results: list[tuple[int, int]] = []
    start = time.monotonic()
    threads = [
        threading.Thread(target=_offer, args=(url, rate / _CONNECTIONS, seconds, os.getpid() * 10 + i, stop, results))
        for i in range(_CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    sent, refused = sum(r[0] for r in results), sum(r[1] for r in results)
    print(json.dumps({"spans_per_s": sent * _PER_REQUEST * SPANS_PER_TRACE / elapsed, "refused": refused}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10_000.0, help="spans/s the collector ingests meanwhile")
    parser.add_argument("--backlog", type=int, default=6000, help="traces stored before the throughput pass")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the lag phase")
    parser.add_argument("--sample", type=float, default=0.2, help="the lag rule's sample of the live traffic")
    parser.add_argument("--load", nargs=3, metavar=("URL", "RATE", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load[0], float(args.load[1]), float(args.load[2]))
        return

    from tracereel.client import CollectorClient
    from tracereel.evals.online import Evaluator

    workdir = tempfile.mkdtemp(prefix="tracereel-bench-online-")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "tracereel", "serve", "--port", str(port), "--store", f"chdb://{workdir}/store"]
    server = subprocess.Popen([*argv, "--grpc-port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    loader: subprocess.Popen[str] | None = None
    try:
        client = CollectorClient(url)
        if not client.wait_healthy(60):
            raise SystemExit("collector did not start")

        # The backlog: stored before the rule that scores it is added (its backfill covers it).
        rng = random.Random(7)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for start in range(0, args.backlog, 100):
            body = build_request(rng, min(100, args.backlog - start), time.time_ns() - 60 * 10**9, "backlog")
            conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
            conn.getresponse().read()
        while client.health().stored_spans < args.backlog * SPANS_PER_TRACE:
            time.sleep(0.2)  # a bench, not a test: it may poll
        print(f"backlog: {args.backlog} traces of {SPANS_PER_TRACE} spans stored")

        load_argv = [sys.executable, __file__, "--load", url, str(args.rate), "3600"]  # until terminated
        loader = subprocess.Popen(load_argv, stdout=subprocess.PIPE, text=True)
        time.sleep(2)  # the load is running

        client.add_online_rule(
            {"name": "backlog", "scorers": SCORERS, "agent": "backlog", "sample": 1.0, "backfill": "1h"}
        )
        evaluator = Evaluator(CollectorClient(url), settle=1.0, fetch=500)
        began, cpu = time.monotonic(), time.process_time()
        if os.environ.get("BENCH_PROFILE"):  # e.g. BENCH_PROFILE=/tmp/evaluator.prof: the pass under cProfile
            import cProfile

            with cProfile.Profile() as profile:
                progress = evaluator.run_once()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
        else:
            progress = evaluator.run_once()
        took, cpu = time.monotonic() - began, time.process_time() - cpu
        print(
            f"throughput: {progress.scored} traces scored in {took:.1f} s = {progress.scored / took:.0f} traces/s "
            f"({progress.errors} errors, evaluator CPU {cpu:.1f} s), the collector ingesting {args.rate:.0f} spans/s"
        )
        client.remove_online_rule("backlog")

        client.add_online_rule({"name": "live", "scorers": SCORERS, "sample": args.sample})
        live = Evaluator(CollectorClient(url), settle=1.0, fetch=500, keep_lags=True)
        stop = threading.Event()
        worker = threading.Thread(target=live.run, args=(stop,), kwargs={"poll": 0.5})
        worker.start()
        time.sleep(args.seconds)
        stop.set()
        worker.join()
        lags = live.progress.lags
        if not lags:
            raise SystemExit("the live rule scored nothing")
        print(
            f"lag (trace end -> scores posted) over {len(lags)} traces at sample {args.sample}: "
            f"p50 {_percentile(lags, 0.5):.2f} s, p99 {_percentile(lags, 0.99):.2f} s, max {max(lags):.2f} s"
        )
        loader.terminate()
        out, _ = loader.communicate(timeout=30)
        if out.strip():
            print(f"load: {out.strip()}")
    finally:
        if loader is not None and loader.poll() is None:
            loader.kill()
        server.terminate()
        server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
