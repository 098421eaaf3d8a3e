"""How fast a kill reaches a running agent, and what the switch costs a decorated call.

    .venv/bin/python bench/kill_switch.py [--runs 10] [--calls 20000] [--rounds 7]

(a) Kill latency: a collector (uvicorn + embedded chDB in this process) and an agent in its
own process calling an ``@tracereel.agent`` every millisecond. Each run starts ``tracereel kill``
(a new process, as a person would run it) and measures the time from that start to the agent's
first blocked call (the agent stamps it with its wall clock; same machine), and from the
command's exit to that call; then revives and waits for the agent to run again. Target: <= 2 s.

(b) Cost on the call path: the same decorated agent (spans to an exporter that drops them)
with the kill switch on (the poller live; another agent and another version of this one
killed, so the lookup finds the agent's entry and checks it) and off (``kill_switch=False``),
in alternating rounds.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).parent))

from _collector import start_collector

import tracereel
from tracereel.client import CollectorClient

AGENT = textwrap.dedent(
    """
    import sys, time
    import tracereel

    @tracereel.agent(name="refunds", version="2.0")
    def refunds(n: int) -> int:
        return n

    state = "ran"
    print("ready", flush=True)
    while True:
        try:
            refunds(1)
            now = "ran"
        except tracereel.AgentDisabled:
            now = "blocked"
        if now != state:
            state = now
            print(now, repr(time.time()), flush=True)
        time.sleep(0.001)
    """
)


class DropExporter(SpanExporter):
    """Accepts and forgets every span."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class AgentProcess:
    """The agent in its own process; its transitions ("ran"/"blocked" and when) read on a thread."""

    def __init__(self, url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEREEL_", "OTEL_"))}
        env.update(TRACEREEL_ENDPOINT=url, OTEL_SERVICE_NAME="bench", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, "-c", AGENT], stdout=subprocess.PIPE, text=True, env=env)
        self.events: list[tuple[str, float]] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, _, stamp = line.strip().partition(" ")
            if word == "ready":
                self.ready.set()
            else:
                self.events.append((word, float(stamp)))

    def next_event(self, after: int, timeout: float = 30.0) -> tuple[str, float]:
        deadline = time.monotonic() + timeout
        while len(self.events) <= after:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the agent process did not report in time")
            time.sleep(0.001)  # a bench, not a test: it may poll
        return self.events[after]


def tracereel_cli(url: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "tracereel", *args, "--collector", url], check=True, capture_output=True)


def kill_latency(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Per run: seconds from starting `tracereel kill` to the first blocked call, and from its exit."""
    agent = AgentProcess(url)
    try:
        if not agent.ready.wait(30):
            raise SystemExit("the agent process did not start")
        time.sleep(1.0)  # let its poller connect and settle into the long poll
        from_start, from_exit = [], []
        for _ in range(runs):
            seen = len(agent.events)
            started = time.time()
            tracereel_cli(url, "kill", "refunds", "--reason", "bench")
            exited = time.time()
            word, at = agent.next_event(seen)
            assert word == "blocked", word
            from_start.append(at - started)
            from_exit.append(at - exited)
            tracereel_cli(url, "revive", "refunds")
            word, _ = agent.next_event(seen + 1)
            assert word == "ran", word
            time.sleep(0.5)  # back in the long poll before the next kill
        return from_start, from_exit
    finally:
        agent.process.kill()
        agent.process.wait()


def per_call_ns(fn: Callable[[int], object], calls: int) -> float:
    start = time.perf_counter_ns()
    for i in range(calls):
        fn(i)
    return (time.perf_counter_ns() - start) / calls


def call_cost(url: str, calls: int, rounds: int) -> tuple[float, float, float]:
    """Median ns per decorated call with the switch on and off, and the median of the rounds' differences."""

    @tracereel.agent(name="refunds", version="2.0")
    def refunds(n: int) -> int:
        return n

    # Answers "killed" (its fallback) once the SDK has the switches: how the bench knows they arrived.
    probe = tracereel.agent(name="billing", fallback="killed")(lambda: "ran")
    admin = CollectorClient(url)
    admin.kill("billing", reason="bench: another agent")
    admin.kill("refunds", version="1.0", reason="bench: another version of this agent")

    def configure(on: bool) -> None:
        tracereel.configure(
            service_name="bench", endpoint=url, exporter=DropExporter(), max_queue_size=100_000, kill_switch=on
        )
        if on:
            deadline = time.monotonic() + 30
            while probe() != "killed":  # the call that is measured looks at a table with two switches
                if time.monotonic() > deadline:
                    raise SystemExit("the SDK did not receive the switches")
                time.sleep(0.01)

    on_times, off_times = [], []
    for _ in range(rounds):
        for on, times in ((True, on_times), (False, off_times)):
            configure(on)
            gc.collect()
            per_call_ns(refunds, 5000)  # warm up the new pipeline
            times.append(per_call_ns(refunds, calls))
    tracereel.shutdown()
    differences = [a - b for a, b in zip(on_times, off_times, strict=True)]
    return statistics.median(on_times), statistics.median(off_times), statistics.median(differences)


def main() -> None:
    """Measure both and print them with the machine."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="kills to time")
    parser.add_argument("--calls", type=int, default=20_000, help="decorated calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url, server, store = start_collector(str(Path(directory) / "store"))
        try:
            from_start, from_exit = kill_latency(url, args.runs)
            on, off, difference = call_cost(url, args.calls, args.rounds)
        finally:
            server.should_exit = True
            time.sleep(0.5)
            store.close()
    ms = sorted(x * 1000 for x in from_start)
    exit_ms = sorted(x * 1000 for x in from_exit)
    print(f"kill -> first blocked call, from starting `tracereel kill` ({args.runs} runs):")
    print(f"  p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms (target <= 2000 ms)")
    print(f"  from the command's exit: p50 {statistics.median(exit_ms):.0f} ms, max {exit_ms[-1]:.0f} ms")
    print(f"decorated @agent call, median of {args.rounds} rounds of {args.calls}:")
    print(f"  switch on {on / 1000:.1f} us, off {off / 1000:.1f} us")
    print(f"  what the switch adds: {difference:+.0f} ns per call (median of the rounds' differences)")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
