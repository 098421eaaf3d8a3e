"""Seeded synthetic traffic of two versions of one agent, sent through the stock OpenTelemetry SDK.

Each task is a root ``invoke_agent support`` span (version, outcome) with an LLM call (an
explicit cost) and one tool call, or three identical successful ones (a loop); a version
without tools makes no tool call (and no loop).
Times are near now, so ``--window`` finds them.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from tests.collector.otel_client import MS, T0_NS, OtelClient
from tracereel import semconv as sc

__all__ = ["Version", "send"]


@dataclass(frozen=True)
class Version:
    """How one version behaves: its tasks, their success and loop rates, and their latency."""

    name: str
    tasks: int
    success: float = 0.9
    loops: float = 0.05
    latency_ms: float = 800.0
    cost_usd: float = 0.01  # mean cost of a task's one LLM call (exponentially distributed)
    # Exact counts instead of draws (for a table with known numbers): successes, looped tasks.
    exact: tuple[int, int] | None = None
    tools: bool = True  # False: an agent that calls no tools


def send(otel: OtelClient, *versions: Version, seed: int = 7, minutes_ago: float = 30) -> None:
    """Send every version's tasks, spread over the minutes before now, and wait until they are stored."""
    rng = random.Random(seed)
    start = (time.time_ns() - T0_NS) / MS - minutes_ago * 60_000
    for v in versions:
        for i in range(v.tasks):
            if v.exact is not None:
                ok, looped = i < v.exact[0], i < v.exact[1]
            else:
                ok, looped = rng.random() < v.success, rng.random() < v.loops
            t = start + rng.random() * (minutes_ago - 1) * 60_000
            root = otel.span(
                "invoke_agent support",
                start_ms=t,
                duration_ms=v.latency_ms * rng.uniform(0.7, 1.3),
                end=False,
                attributes={
                    sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
                    sc.AGENT_NAME: "support",
                    sc.AGENT_VERSION: v.name,
                    sc.TASK_SUCCESS: ok,
                },
            )
            otel.span(
                "chat gpt-4o",
                start_ms=t,
                duration_ms=1,
                parent=root,
                attributes={
                    sc.OPERATION_NAME: sc.OP_CHAT,
                    sc.REQUEST_MODEL: "gpt-4o",
                    sc.COST_USD: round(rng.expovariate(1 / v.cost_usd), 6),
                },
            )
            for k in range((3 if looped else 1) if v.tools else 0):
                otel.span(
                    "execute_tool lookup",
                    start_ms=t + 1 + k,
                    duration_ms=1,
                    parent=root,
                    attributes={
                        sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                        sc.TOOL_NAME: "lookup",
                        sc.TOOL_CALL_ARGUMENTS: json.dumps({"id": f"{v.name}-{i}"}),
                    },
                )
            otel.end(root)
    otel.wait()
