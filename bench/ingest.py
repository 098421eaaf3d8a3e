"""Ingest throughput: closed-loop OTLP clients against a real collector on the embedded store.

    .venv/bin/python bench/ingest.py [--seconds 20] [--clients 3] [--batch 500] [--gzip] [--grpc] [--rate N]

Starts ``tracereel serve`` as its own process over a fresh chDB directory and sends OTLP
protobuf requests (agent-shaped spans: an agent root, LLM calls with token usage, tool calls
with JSON arguments and results, some errors) from ``--clients`` threads for ``--seconds``,
each client sending its next request when the last is answered. Every request has trace ids
of its own (patched into pre-built bodies), so the collector's re-send filter drops nothing.
Prints the spans/s acknowledged (200 = in the write-ahead log), that every acknowledged span
was stored, the time from ack to stored (p50/p99, from /healthz), the inserts, CPU, and the
collector's peak resident memory. The load generator runs on the same machine. ``--rate N``
offers N spans/s on a fixed schedule instead (open loop), for the lag at a normal load.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


class Template:
    """A serialised request and where its trace ids sit, to make copies with trace ids of their own."""

    def __init__(self, body: bytes, trace_ids: list[bytes]) -> None:
        self.body = body
        # The last 4 bytes of every trace id: overwritten with a request number per copy.
        self.offsets = [i + 12 for trace_id in trace_ids for i in _find_all(body, trace_id)]

    def copy(self, number: int) -> bytes:
        """The request with ``number`` in every trace id, so no two copies share a span."""
        data = bytearray(self.body)
        stamp = number.to_bytes(4, "big")
        for offset in self.offsets:
            data[offset : offset + 4] = stamp
        return bytes(data)


def _find_all(body: bytes, needle: bytes) -> list[int]:
    found, start = [], 0
    while (i := body.find(needle, start)) != -1:
        found.append(i)
        start = i + 1
    return found


def build_request(rng: random.Random, spans_wanted: int) -> Template:
    """One ExportTraceServiceRequest of agent-shaped traces, about ``spans_wanted`` spans."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "bench-agents"), _kv("telemetry.sdk.language", "python")])
    scope = rs.scope_spans.add()
    scope.scope.name = "tracereel"
    now = time.time_ns()
    made = 0
    trace_ids = []
    while made < spans_wanted:
        trace_id = rng.randbytes(12) + bytes(4)
        trace_ids.append(trace_id)
        root_id = rng.randbytes(8)
        start = now - rng.randrange(3600 * 10**9)
        scope.spans.append(
            Span(
                trace_id=trace_id,
                span_id=root_id,
                name="invoke_agent support",
                start_time_unix_nano=start,
                end_time_unix_nano=start + 2_000_000_000,
                attributes=[
                    _kv("gen_ai.operation.name", "invoke_agent"),
                    _kv("gen_ai.agent.name", "support"),
                    _kv("gen_ai.agent.version", "1.4.0"),
                    _kv("tracereel.entrypoint", "app.agents:support"),
                    _kv("tracereel.agent.input", json.dumps({"ticket": f"T-{rng.randrange(10**6)}"})),
                ],
            )
        )
        made += 1
        for step in range(9):
            is_llm = step % 2 == 0
            failed = rng.random() < 0.05
            attrs = (
                [
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.request.model", "gpt-4o-mini"),
                    _kv("gen_ai.provider.name", "openai"),
                    _kv("gen_ai.usage.input_tokens", rng.randrange(200, 4000)),
                    _kv("gen_ai.usage.output_tokens", rng.randrange(20, 400)),
                    _kv("gen_ai.input.messages", json.dumps([{"role": "user", "content": _question(rng)}])),
                    _kv("gen_ai.output.messages", json.dumps({"content": "It ships tomorrow."})),
                    _kv("tracereel.args_hash", rng.randbytes(8).hex()),
                ]
                if is_llm
                else [
                    _kv("gen_ai.operation.name", "execute_tool"),
                    _kv("gen_ai.tool.name", "lookup_order"),
                    _kv("gen_ai.tool.call.id", f"call_{rng.randbytes(8).hex()}"),
                    _kv("gen_ai.tool.call.arguments", json.dumps({"order_id": rng.randrange(10**6)})),
                    _kv("gen_ai.tool.call.result", json.dumps({"status": "shipped"})),
                    _kv("tracereel.args_hash", rng.randbytes(8).hex()),
                ]
            )
            if failed:
                attrs.append(_kv("error.type", "timeout"))
            s0 = start + step * 200_000_000
            scope.spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=rng.randbytes(8),
                    parent_span_id=root_id,
                    name="chat gpt-4o-mini" if is_llm else "execute_tool lookup_order",
                    kind=3 if is_llm else 1,
                    start_time_unix_nano=s0,
                    end_time_unix_nano=s0 + 150_000_000,
                    attributes=attrs,
                    status=Status(code=2, message="timed out") if failed else Status(),
                )
            )
            made += 1
    return Template(request.SerializeToString(), trace_ids)


def _question(rng: random.Random) -> str:
    # One message in ten carries PII, so --redact default pays for real replacements too.
    if rng.random() < 0.1:
        user, line = rng.randrange(10**4), rng.randrange(1000, 9999)
        return f"where is my order? write to user{user}@example.com or call +1 415 555 {line}"
    return "where is my order?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_mib(pid: int) -> float:
    """Sum of the peak resident memory of the collector and its parse workers."""
    total = 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the collector and its parse workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _cpu_by_process(pid: int) -> dict[int, float]:
    out = {}
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[member] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="spans per request")
    parser.add_argument("--bodies", type=int, default=20, help="distinct pre-built requests to cycle through")
    parser.add_argument("--gzip", action="store_true", help="compress each request (level 1)")
    parser.add_argument("--grpc", action="store_true", help="send OTLP/gRPC instead of OTLP/HTTP")
    parser.add_argument("--redact", default="default", help="the collector's --redact: default, off or a rules file")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="spans/s to offer in all (open loop, requests on a fixed schedule): the ack -> stored lag "
        "at a normal load rather than at saturation; 0 (default): each client sends as fast as it is answered",
    )
    args = parser.parse_args()

    rng = random.Random(7)
    print(f"building {args.bodies} requests of {args.batch} spans ...", flush=True)
    templates = [build_request(rng, args.batch) for _ in range(args.bodies)]
    spans_per_body = len(ExportTraceServiceRequest.FromString(templates[0].body).resource_spans[0].scope_spans[0].spans)
    print(f"request size: {sum(len(t.body) for t in templates) / len(templates) / 1024:.0f} KiB before compression")

    workdir = tempfile.mkdtemp(prefix="tracereel-bench-")
    port = _free_port()
    grpc_port = _free_port() if args.grpc else 0
    argv = [sys.executable, "-m", "tracereel", "serve", "--port", str(port), "--store", f"chdb://{workdir}/store"]
    argv += ["--redact", args.redact, "--grpc-port", str(grpc_port)]
    if os.environ.get("BENCH_PROFILE"):  # e.g. BENCH_PROFILE=/tmp/ingest.svg: the collector under py-spy
        argv = [
            "py-spy",
            "record",
            *os.environ.get("BENCH_PROFILE_FLAGS", "").split(),
            "--threads",
            "-f",
            "raw",
            "-o",
            os.environ["BENCH_PROFILE"],
            "--",
            *argv,
        ]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("collector did not start") from None
                time.sleep(0.1)

        acked = [0] * args.clients
        refused = [0] * args.clients
        numbers = itertools.count(1)
        stop_at = time.monotonic() + args.seconds
        headers = {"Content-Type": "application/x-protobuf"}
        if args.gzip:
            headers["Content-Encoding"] = "gzip"

        def next_body(index: int) -> bytes:
            number = next(numbers)
            body = templates[number % len(templates)].copy(number)
            return gzip.compress(body, 1) if args.gzip and not args.grpc else body

        # With --rate, client i sends request k at start + (k * clients + i) * period: the offered
        # load is fixed and no client waits for another's answer.
        period = spans_per_body / args.rate if args.rate else 0.0

        def turns(index: int) -> Iterator[None]:
            """One turn per request client ``index`` may send, until the run's end (paced with --rate)."""
            sent = 0
            while True:
                if period:
                    delay = start_at + (sent * args.clients + index) * period - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if time.monotonic() >= stop_at:
                    return
                sent += 1
                yield

        def http_client(index: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in turns(index):
                conn.request("POST", "/v1/traces", body=next_body(index), headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    acked[index] += spans_per_body
                else:
                    refused[index] += 1
                    time.sleep(float(response.getheader("Retry-After") or 1))
            conn.close()

        def grpc_client(index: int) -> None:
            import grpc

            compression = grpc.Compression.Gzip if args.gzip else grpc.Compression.NoCompression
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}", compression=compression) as channel:
                export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
                for _ in turns(index):
                    try:
                        export(next_body(index), timeout=60)
                        acked[index] += spans_per_body
                    except grpc.RpcError:
                        refused[index] += 1
                        time.sleep(1)

        started = start_at = time.monotonic()
        cpu_before = _cpu_by_process(server.pid)
        own_before = time.process_time()
        client = grpc_client if args.grpc else http_client
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        cpu_after = _cpu_by_process(server.pid)
        # The collector's own process (HTTP, log, INSERTs in the engine) apart from its parse workers.
        main_cpu = cpu_after.get(server.pid, 0.0) - cpu_before.get(server.pid, 0.0)
        collector_cpu = sum(cpu_after.values()) - sum(cpu_before.values())
        generator_cpu = time.process_time() - own_before
        total = sum(acked)
        # Everything acknowledged is in the log; wait for the drainer to store it all.
        drain_deadline = time.monotonic() + 120
        while True:
            health = json.loads(urllib.request.urlopen(f"{base}/healthz").read())
            if health["stored_spans"] >= total or time.monotonic() > drain_deadline:
                break
            time.sleep(0.2)
        transport = "OTLP/gRPC" if args.grpc else "OTLP/HTTP"
        offered = f"offered {args.rate:,.0f} spans/s (open loop)" if args.rate else "closed loop"
        print(
            f"{transport}, clients={args.clients}, {spans_per_body} spans/request, "
            f"{'gzip' if args.gzip else 'uncompressed'}, {offered}, {elapsed:.1f} s"
        )
        print(f"acknowledged: {total} spans = {total / elapsed:,.0f} spans/s; refused requests: {sum(refused)}")
        print(f"stored: {health['stored_spans']} spans (must equal acknowledged: {total})")
        lag = health["log"]["stored_lag_seconds"]
        print(f"ack -> stored: p50 {lag['p50']:.3f} s, p99 {lag['p99']:.3f} s, max {lag['max']:.3f} s")
        print(f"INSERTs: {health['inserts']}, {health['stored_spans'] / max(health['inserts'], 1):,.0f} spans each")
        print(f"redact={args.redact}: redactions {health.get('redactions')}")
        print(
            f"CPU: collector + parse workers {collector_cpu:.1f} s ({collector_cpu / elapsed:.0%} of one core; "
            f"collector process {main_cpu:.1f} s, parse workers {collector_cpu - main_cpu:.1f} s), "
            f"load generator {generator_cpu:.1f} s ({generator_cpu / elapsed:.0%})"
        )
        print(f"collector + parse workers peak RSS (sum): {_peak_rss_mib(server.pid):.0f} MiB")
        print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    finally:
        server.send_signal(2)  # SIGINT: lets py-spy write its profile
        server.wait(60)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
