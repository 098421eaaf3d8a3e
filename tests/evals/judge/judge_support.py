"""Runs and spans to score, built the way the eval runner builds them."""

from __future__ import annotations

import json
from typing import Any

from tracereel import semconv as sc
from tracereel.evals.model import Case, CaseRun
from tracereel.traces import SpanJSON

__all__ = ["make_run", "tool_span"]


def tool_span(tool: str, result: Any, *, start: int = 0, arguments: Any = None) -> SpanJSON:
    """A tool span as the read API serves it (attribute values are JSON strings)."""
    return {
        "trace_id": "t" * 32,
        "span_id": f"{start:016x}",
        "parent_span_id": "",
        "name": f"{sc.OP_EXECUTE_TOOL} {tool}",
        "kind": "tool",
        "start_time_unix_nano": start,
        "attributes": {
            sc.TOOL_NAME: tool,
            sc.TOOL_CALL_ARGUMENTS: json.dumps(arguments or {}),
            sc.TOOL_CALL_RESULT: json.dumps(result),
        },
    }


def make_run(
    output: Any,
    expected: Any = None,
    *,
    input: dict[str, Any] | None = None,
    spans: list[SpanJSON] | None = None,
    error: str | None = None,
) -> CaseRun:
    case = Case(id="case-1", input=input or {}, expected=expected)
    return CaseRun(case=case, output=output, error=error, spans=spans or [])
