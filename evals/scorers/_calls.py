"""Reading a case run's spans: the tool and LLM calls it made, in order, and its escalations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tracereel import semconv as sc
from tracereel.evals.model import CaseRun
from tracereel.rules import escalation_reasons
from tracereel.sdk.hooks import to_json
from tracereel.traces import span_kind

__all__ = ["Call", "calls", "escalations", "json_value", "text_of"]


@dataclass(frozen=True)
class Call:
    """One tool or LLM call of a run: what it was given and what it returned, as JSON text."""

    kind: str  # tool | llm
    name: str  # tool name or model
    arguments: str  # JSON text ("" if not recorded)
    result: str  # JSON text ("" if it raised or was not recorded)
    error: bool
    start_ns: int


def calls(run: CaseRun) -> list[Call]:
    """Every tool and LLM call the run made, oldest first."""
    out: list[Call] = []
    for span in run.spans:
        kind = span_kind(span)
        if kind not in ("tool", "llm"):
            continue
        attrs: dict[str, Any] = span.get("attributes") or {}
        if kind == "tool":
            name = str(attrs.get(sc.TOOL_NAME) or str(span.get("name", "")).removeprefix(f"{sc.OP_EXECUTE_TOOL} "))
            arguments = str(attrs.get(sc.TOOL_CALL_ARGUMENTS, ""))
            result = str(attrs.get(sc.TOOL_CALL_RESULT, ""))
        else:
            name = str(attrs.get(sc.REQUEST_MODEL) or str(span.get("name", "")).removeprefix(f"{sc.OP_CHAT} "))
            arguments = str(attrs.get(sc.LLM_ARGUMENTS) or attrs.get(sc.INPUT_MESSAGES) or "")
            result = str(attrs.get(sc.OUTPUT_MESSAGES, ""))
        out.append(
            Call(
                kind=kind,
                name=name,
                arguments=arguments,
                result=result,
                error=span.get("status_code") == "ERROR",
                start_ns=int(span.get("start_time_unix_nano") or 0),
            )
        )
    out.sort(key=lambda c: c.start_ns)
    return out


def escalations(run: CaseRun) -> list[str]:
    """The reasons of every escalation to a human the run made (empty: none), by the one rule of
    tracereel/rules.py: ``tracereel.escalate(...)``, an escalation event, or a handoff to a human."""
    return escalation_reasons(run.spans)


def text_of(value: Any) -> str:
    """A value as text to search in: strings as they are, anything else as canonical JSON."""
    if isinstance(value, str):
        return value
    return to_json(value)


def json_value(value: Any) -> Any:
    """A value as plain JSON data (dataclasses and the like as the SDK records them)."""
    return json.loads(to_json(value))
