"""Failing agent tasks as OTLP span specs (for :func:`tests.collector.otlp_payloads.protobuf_request`).

Used by the failure-cluster tests and their bench: a task whose tool failed, whose guardrail
found a violation, that reported success false, or that succeeded (to be left out).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ERROR = 2  # OTLP status code ERROR


def trace_id(label: str) -> str:
    """A 32-hex trace id made from ``label`` (distinct labels, distinct ids)."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def task(
    tid: str,
    start: int,
    *,
    agent: str = "support-bot",
    output: str = "done",
    success: bool = True,
    tool: str = "lookup_order",
    tool_error: tuple[str, str] | None = None,
    guardrail: str | None = None,
) -> list[dict[str, Any]]:
    """One task: the root agent span and a tool call; ``tool_error`` = (error.type, message) fails the tool
    and the task, ``guardrail`` adds a guardrail span with a violation, ``success`` False reports failure."""
    root = tid[:16]
    failed = tool_error is not None or not success
    spans: list[dict[str, Any]] = [
        {
            "trace_id": tid,
            "span_id": root,
            "name": f"invoke_agent {agent}",
            "start": start,
            "end": start + 50_000_000,
            "attributes": {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent,
                "tracereel.task.success": "false" if failed else "true",
                "tracereel.agent.output": json.dumps(output),
            },
        },
        {
            "trace_id": tid,
            "span_id": tid[16:],
            "parent": root,
            "name": f"execute_tool {tool}",
            "start": start + 1_000_000,
            "end": start + 20_000_000,
            "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
            **({"status": ERROR, "message": tool_error[1]} if tool_error else {}),
        },
    ]
    if tool_error:
        spans[1]["attributes"]["error.type"] = tool_error[0]
    if guardrail:
        spans.append(
            {
                "trace_id": tid,
                "span_id": "e" + tid[17:],
                "parent": root,
                "name": f"guardrail {guardrail}",
                "start": start + 21_000_000,
                "end": start + 22_000_000,
                "attributes": {"tracereel.guardrail.name": guardrail, "tracereel.guardrail.verdict": "violation"},
            }
        )
    return spans
