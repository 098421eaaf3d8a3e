"""How the dashboard names, formats and judges each metric (no Streamlit here, so it is easy to test)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = ["METRICS", "Metric", "better", "format_difference", "format_value", "parse_json", "short_ms"]

Unit = Literal["count", "rate", "ms", "usd", "number"]


@dataclass(frozen=True)
class Metric:
    """A metric key with its label, unit, which direction is better, and what it means."""

    key: str
    label: str
    unit: Unit
    higher_is_better: bool | None
    help: str


METRICS: Final[tuple[Metric, ...]] = (
    Metric("tasks", "Tasks", "count", None, "Traces whose root span starts in the window."),
    Metric("task_success_rate", "Task success", "rate", True, "tracereel.task.success if set, else root not ERROR."),
    Metric("groundedness_rate", "Groundedness", "rate", True, "Scored tasks whose latest groundedness is >= 0.5."),
    Metric("tool_calls", "Tool calls", "count", None, "Tool spans in the tasks."),
    Metric("tool_success_rate", "Tool success", "rate", True, "Tool spans not in ERROR."),
    Metric("tool_timeout_rate", "Tool timeouts", "rate", False, "Tool spans in ERROR whose error.type says timeout."),
    Metric("tool_error_rate", "Tool errors", "rate", False, "Other tool spans in ERROR."),
    Metric("retry_rate", "Retries", "rate", False, "Retried LLM and tool calls / all LLM and tool calls."),
    Metric("loop_rate", "Loops", "rate", False, "Tasks repeating an identical successful call 3+ times."),
    Metric("steps_per_task", "Steps / task", "number", None, "Mean LLM + tool calls per task."),
    Metric("steps_per_task_p95", "Steps / task p95", "number", None, "95th percentile of steps per task."),
    Metric("plan_length", "Plan length", "number", None, "Mean plan length over tasks that recorded a plan."),
    Metric("p50_latency_ms", "Latency p50", "ms", False, "Median task (root span) duration."),
    Metric("p95_latency_ms", "Latency p95", "ms", False, "95th percentile of task duration."),
    # Total cost grows with the number of tasks, so it is not judged better or worse; cost per success is.
    Metric("cost_usd", "Cost", "usd", None, "LLM cost: explicit tracereel.cost.usd, else tokens x price table."),
    Metric("cost_coverage", "Cost coverage", "rate", True, "LLM spans with a price / LLM spans."),
    Metric("cost_per_successful_task_usd", "Cost / success", "usd", False, "Cost of all tasks / successful tasks."),
    Metric("safety_violation_rate", "Safety violations", "rate", False, "Tasks with a guardrail violation."),
    Metric("human_escalation_rate", "Escalations", "rate", False, "Tasks handed to a human."),
)


def short_ms(ms: float) -> str:
    """Milliseconds as a short human duration: ``850 ms``, ``2.4 s``, ``3.1 min``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def format_value(metric: Metric, value: Any) -> str:
    """A metric value for people; ``—`` when it is undefined (null)."""
    if value is None:
        return "—"
    if metric.unit == "count":
        return f"{int(value):,}"
    if metric.unit == "rate":
        return f"{value * 100:.1f}%"
    if metric.unit == "ms":
        return short_ms(float(value))
    if metric.unit == "usd":
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    return f"{value:,.2f}"


def format_difference(metric: Metric, baseline: Any, candidate: Any) -> str:
    """``candidate - baseline`` for people: points for rates, the metric's own unit otherwise."""
    if baseline is None or candidate is None:
        return "—"
    diff = candidate - baseline
    if metric.unit == "rate":
        return f"{diff * 100:+.1f} pts"
    sign = "+" if diff >= 0 else "-"
    return sign + format_value(metric, abs(diff))


def better(metric: Metric, baseline: Any, candidate: Any) -> bool | None:
    """Whether ``candidate`` is better than ``baseline`` for this metric; None if equal, undefined or neutral."""
    if metric.higher_is_better is None or baseline is None or candidate is None or baseline == candidate:
        return None
    return (candidate > baseline) == metric.higher_is_better


def parse_json(text: Any) -> Any:
    """An attribute value as data if it is JSON text, else unchanged."""
    if not isinstance(text, str) or text[:1] not in '[{"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
