"""The Review page's data (no Streamlit here, so it is easy to test): one queued trace summed up for a reviewer.

What the task was asked and answered (the root agent's recorded payloads), its spans in start
order, and its scores with feedback first, read by the rules every reader uses (tracereel/rules.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tracereel.dashboard.format import parse_json, short_ms
from tracereel.rules import escalation_reason, payload, task_agent, task_success
from tracereel.traces import is_error

__all__ = ["expected_text", "parse_expected", "score_rows", "span_rows", "task_summary"]


def task_summary(spans: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The task's agent, outcome, input and output (as data when JSON), and whether it escalated."""
    roots = [s for s in spans if not s.get("parent_span_id")] or list(spans[:1])
    root = roots[0]
    given, answered = payload(root)
    agent, version = task_agent(spans)
    return {
        "agent": f"{agent} {version}".strip() or "—",
        "outcome": "ok" if task_success(root) else "error",
        "input": parse_json(given),
        "output": parse_json(answered),
        "escalations": [reason for s in spans if (reason := escalation_reason(s)) is not None],
    }


def span_rows(spans: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per span in start order: kind, name, status, duration."""
    ordered = sorted(spans, key=lambda s: int(s.get("start_time_unix_nano") or 0))
    return [
        {
            "kind": s.get("kind", ""),
            "name": s.get("name", ""),
            "status": "error" if is_error(s) else "ok",
            "duration": short_ms(int(s.get("duration_ns") or 0) / 1e6),
        }
        for s in ordered
    ]


def score_rows(scores: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The trace's scores, feedback first, then by name and time."""
    ordered = sorted(scores, key=lambda s: (s.get("source") != "feedback", str(s.get("name")), str(s.get("time"))))
    return [
        {
            "name": s.get("name"),
            "value": s.get("value"),
            "source": s.get("source"),
            "label": s.get("label") or "",
            "comment": s.get("comment") or "",
        }
        for s in ordered
    ]


def expected_text(value: Any) -> str:
    """A value as the reviewer edits it: text as it is, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_expected(text: str) -> Any:
    """What the reviewer typed as the expected value: JSON if it parses, else the text; empty is None."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return stripped
