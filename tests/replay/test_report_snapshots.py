"""A divergence report compared whole to an inline snapshot: deterministic ids make it reproducible.

Update after an intended change with ``./dev test tests/replay --inline-snapshot=fix`` and review the diff.
"""

from __future__ import annotations

import random
from typing import Any

from inline_snapshot import snapshot
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

import tracereel
from tracereel.replay import replay


class CountingIds(IdGenerator):
    """Ids counting up from a fixed start (distinct per test, since the module shares one collector)."""

    def __init__(self, start: int) -> None:
        self.next = start

    def generate_span_id(self) -> int:
        self.next += 1
        return self.next & (2**64 - 1)

    def generate_trace_id(self) -> int:
        self.next += 1
        return self.next


def test_a_changed_tool_argument_reports_the_same_divergence_every_time(recorder: Any, agents: Any) -> None:
    tracereel.configure(service_name="snap", endpoint=recorder.url, id_generator=CountingIds(0x5EED << 64))
    random.seed(7)  # the tools draw their results (an order's total) from random
    recorded = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    assert recorded.trace_id == f"{(0x5EED << 64) + 1:032x}"

    agents.reset()
    agents.BEHAVIOUR["order_id"] = "A-2002"
    agents.ARMED.set()
    tracereel.configure(exporter=InMemorySpanExporter(), id_generator=CountingIds(0xFACE << 64))
    report = replay(recorded.trace).to_dict()
    report.pop("seconds")
    # The recorded output holds the real run's clock, random and uuid values: not a fixed text.
    assert set(report.pop("outcome")) >= {"recorded"}
    assert report == snapshot(
        {
            "trace_id": "0000000000005eed0000000000000001",
            "status": "diverged",
            "mode": "strict",
            "entrypoint": "replay_agents:support",
            "divergence": {
                "kind": "different_arguments",
                "message": "tool 'lookup_order' was called with arguments the recording does not have here",
                "address": {
                    "agent_path": ["support"],
                    "kind": "tool",
                    "name": "lookup_order",
                    "ordinal": 1,
                    "number": 1,
                    "label": "tool:lookup_order#1",
                },
                "expected": """\
{
  "order_id": "A-1001"
}\
""",
                "actual": """\
{
  "order_id": "A-2002"
}\
""",
                "diff": """\
--- recorded
+++ replay
@@ -1,3 +1,3 @@
 {
-  "order_id": "A-1001"
+  "order_id": "A-2002"
 }\
""",
                "candidates": [
                    {
                        "agent_path": ["support"],
                        "kind": "tool",
                        "name": "lookup_order",
                        "ordinal": 1,
                        "number": 1,
                        "label": "tool:lookup_order#1",
                        "arguments": {"order_id": "A-1001"},
                        "similarity": 0.905,
                        "consumed": False,
                    },
                    {
                        "agent_path": ["support"],
                        "kind": "tool",
                        "name": "check_inventory",
                        "ordinal": 1,
                        "number": 1,
                        "label": "tool:check_inventory#1",
                        "arguments": {"sku": "KETTLE-1"},
                        "similarity": 0.41,
                        "consumed": False,
                    },
                    {
                        "agent_path": ["support"],
                        "kind": "tool",
                        "name": "charge_card",
                        "ordinal": 1,
                        "number": 1,
                        "label": "tool:charge_card#1",
                        "arguments": {"amount": 23.43},
                        "similarity": 0.378,
                        "consumed": False,
                    },
                ],
                "redacted": [],
                "where": "support / tool:lookup_order, call 1 there [tool:lookup_order#1]",
                "description": "the agent made the recorded call with different arguments",
            },
            "error": None,
            "recorded_calls": 5,
            "served": 0,
            "live": 0,
            "stubbed": 0,
            "overridden": [],
            "nondeterminism": {"recorded": 4, "served": 4, "live": 0},
            "truncated": False,
            "replay_trace_id": "000000000000face0000000000000001",
            "notes": [],
            "exit_code": 1,
        }
    )
