"""Run the demo workload and deliver its traces to a collector, spread over the past hours.

How the traces get their timestamps: the tasks run for real, back to back, with the SDK
exporting into memory (an ``InMemorySpanExporter``). Each trace is then moved as a whole:
its spans and span events keep their order and nesting, the trace starts at its own slot
in the window ``[now - spread_hours, now]`` (slots in task order, jittered by the seed), and
durations are stretched by ``time_scale`` because the demo's tools and LLMs sleep only a
few milliseconds. The moved spans go to the collector with the stock ``OTLPSpanExporter``
(OTLP/HTTP protobuf, gzip), in batches. With ``spread_hours=0`` the traces keep their real
times (``time_scale`` defaults to 1 then).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel
from tracereel import semconv as sc
from tracereel.client import CollectorClient, CollectorError, CollectorUnavailable
from tracereel.demo import agents, world
from tracereel.demo.tasks import SERVICES, DemoTask, generate
from tracereel.sdk.settings import headers, traces_url

__all__ = ["DEFAULT_TIME_SCALE", "DemoError", "DemoResult", "check_collector", "run_demo"]

DEFAULT_TIME_SCALE = 300.0  # a 5 ms scripted LLM call shows as 1.5 s, a 1 ms tool call as 0.3 s
_BATCH_SPANS = 2000
_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class DemoError(Exception):
    """The demo could not reach the collector or deliver its spans; the message says why."""


@dataclass
class DemoResult:
    """What one demo run produced and sent."""

    endpoint: str
    seed: int
    spread_hours: float
    tasks: int = 0
    succeeded: int = 0
    crashed: int = 0  # tasks whose agent raised (root span in ERROR)
    spans: int = 0
    trace_ids: list[str] = field(default_factory=list)  # in task order
    span_counts: list[int] = field(default_factory=list)  # spans of each trace, in task order
    outcomes: list[str] = field(default_factory=list)  # "succeeded", "failed" or "crashed", in task order

    @property
    def failed(self) -> int:
        """Tasks that did not succeed, crashed ones included."""
        return self.tasks - self.succeeded

    def summary(self) -> str:
        """One line for humans."""
        window = f"spread over the past {self.spread_hours:g}h" if self.spread_hours else "in real time"
        return (
            f"tracereel demo: {self.tasks} tasks ({self.succeeded} succeeded, {self.failed} failed, "
            f"{self.crashed} of them crashed), {self.spans} spans sent to {self.endpoint}, {window} (seed {self.seed})"
        )


def check_collector(endpoint: str, timeout: float = 5.0) -> None:
    """Raise :class:`DemoError` unless a collector answers ``GET /healthz`` at ``endpoint``."""
    client = CollectorClient(endpoint, timeout=timeout)
    try:
        body = client.health()
    except CollectorUnavailable as exc:
        raise DemoError(
            f"no tracereel collector answers at {client.base_url} ({exc.reason}); start one with `tracereel serve`"
        ) from None
    except CollectorError as exc:
        raise DemoError(f"{client.base_url}/healthz answered, but not like a tracereel collector: {exc}") from None
    if body.status != "ok":
        raise DemoError(f"{client.base_url}/healthz answered, but not like a tracereel collector: {body!r}")


class _LastRecord(logging.Handler):
    """Keeps the exporter's last log message, so a failure is reported in one line of ours."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()


def _run_tasks(
    planned: Sequence[DemoTask], progress: Callable[[str], None], total: int, done: list[int]
) -> dict[int, list[ReadableSpan]]:
    """Run ``planned`` (one service) with the SDK exporting into memory; spans per task index."""
    exporter = InMemorySpanExporter()
    tracereel.configure(
        service_name=planned[0].service, exporter=exporter, max_queue_size=65536, schedule_delay_millis=50
    )
    out: dict[int, list[ReadableSpan]] = {}
    try:
        for item in planned:
            with world.scenario(item.scenario):
                try:
                    getattr(agents, item.entrypoint)(item.task)
                except Exception:
                    pass  # the canary's crash: recorded on its spans, and that is the point
            if not tracereel.flush(10):
                raise DemoError("the SDK did not hand over the demo's spans within 10s")
            out[item.index] = list(exporter.get_finished_spans())
            exporter.clear()
            done[0] += 1
            if done[0] % 50 == 0 or done[0] == total:
                progress(f"  {done[0]}/{total} tasks run")
    finally:
        tracereel.shutdown()
    return out


def _slots(seed: int, count: int, spread_ns: int, now_ns: int) -> list[int]:
    """Start times for ``count`` traces, in order, one per equal share of the window."""
    rng = random.Random(f"{seed}:schedule")
    share = spread_ns / count
    return [now_ns - spread_ns + int((i + rng.uniform(0.1, 0.9)) * share) for i in range(count)]


def _move(spans: list[ReadableSpan], start_ns: int | None, scale: float, now_ns: int) -> list[ReadableSpan]:
    """The trace's spans, starting at ``start_ns`` (None: where they are) and stretched by ``scale``."""
    base = min(s.start_time or 0 for s in spans)
    end = max(s.end_time or 0 for s in spans)
    target = base if start_ns is None else start_ns
    # Never into the future: a stretched trace at the end of the window ends by now.
    target = min(target, now_ns - int((end - base) * scale))

    def at(t: int | None) -> int | None:
        return None if t is None else target + int((t - base) * scale)

    return [
        ReadableSpan(
            name=s.name,
            context=s.context,
            parent=s.parent,
            resource=s.resource,
            attributes=s.attributes,
            events=[Event(e.name, e.attributes, at(e.timestamp)) for e in s.events],
            links=s.links,
            kind=s.kind,
            status=s.status,
            start_time=at(s.start_time),
            end_time=at(s.end_time),
            instrumentation_scope=s.instrumentation_scope,
        )
        for s in spans
    ]


def _send(endpoint: str, api_key: str | None, spans: list[ReadableSpan], progress: Callable[[str], None]) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(
        endpoint=traces_url(endpoint), headers=headers(api_key) or None, timeout=30, compression=Compression.Gzip
    )
    logger = logging.getLogger(_EXPORTER_LOGGER)
    capture = _LastRecord()
    logger.addHandler(capture)
    propagate, logger.propagate = logger.propagate, False
    try:
        progress(f"sending {len(spans)} spans to {endpoint}")
        for first in range(0, len(spans), _BATCH_SPANS):
            if exporter.export(spans[first : first + _BATCH_SPANS]) is not SpanExportResult.SUCCESS:
                detail = capture.message or "no reason given"
                hint = " (set --api-key / TRACEREEL_API_KEY)" if "401" in detail else ""
                raise DemoError(f"the collector at {endpoint} refused the demo's spans: {detail}{hint}")
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate
        exporter.shutdown()


def run_demo(
    endpoint: str,
    *,
    tasks: int = 200,
    seed: int = 42,
    spread_hours: float = 24.0,
    time_scale: float | None = None,
    api_key: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run ``tasks`` demo tasks and send their traces to the collector at ``endpoint``.

    The same ``seed`` gives the same tasks, calls, failures and outcomes (ids and exact
    durations differ). Raises :class:`DemoError` when no collector answers or it refuses
    the spans. Reconfigures the SDK while it runs and shuts it down at the end.
    """
    if tasks < 1:
        raise DemoError("--tasks must be at least 1")
    if spread_hours < 0:
        raise DemoError("--spread-hours must be 0 or more")
    say = progress or (lambda _line: None)
    check_collector(endpoint)
    scale = time_scale if time_scale is not None else (DEFAULT_TIME_SCALE if spread_hours > 0 else 1.0)
    planned = generate(seed, tasks)
    say(f"running {tasks} demo tasks (seed {seed})")
    recorded: dict[int, list[ReadableSpan]] = {}
    done = [0]
    for service in SERVICES:
        mine = [p for p in planned if p.service == service]
        if mine:
            recorded.update(_run_tasks(mine, say, tasks, done))

    now_ns = time.time_ns()
    slots = _slots(seed, tasks, int(spread_hours * 3600e9), now_ns) if spread_hours > 0 else None
    result = DemoResult(endpoint=endpoint, seed=seed, spread_hours=spread_hours, tasks=tasks)
    outgoing: list[ReadableSpan] = []
    for index in range(tasks):
        spans = recorded[index]
        root = next(s for s in spans if s.parent is None)
        result.trace_ids.append(f"{root.context.trace_id:032x}")
        attrs: Any = root.attributes or {}
        result.span_counts.append(len(spans))
        if attrs.get(sc.TASK_SUCCESS) is True:
            result.succeeded += 1
            result.outcomes.append("succeeded")
        elif root.status.status_code.name == "ERROR":
            result.outcomes.append("crashed")
        else:
            result.outcomes.append("failed")
        if root.status.status_code.name == "ERROR":
            result.crashed += 1
        outgoing.extend(_move(spans, slots[index] if slots else None, scale, now_ns))
    result.spans = len(outgoing)
    _send(endpoint, api_key, outgoing, say)
    return result
