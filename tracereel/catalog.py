"""The metrics catalog: every metric's key, label, unit and direction, declared once.

The metrics API computes exactly these keys (DESIGN.md "Metric definitions"); the dashboard, the
gate and monitors label and format them from here (:func:`format_value`, :func:`format_change`),
and gates, monitors and eval reports judge "better" and "worse" by the same ``higher_is_better``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from tracereel.traces import SCORE_NAME_PATTERN

__all__ = [
    "CATALOG",
    "METRICS",
    "METRIC_KEYS",
    "SCORE_METRIC_PREFIX",
    "Metric",
    "Unit",
    "format_change",
    "format_value",
    "metric_info",
    "score_metric",
]

Unit = Literal["count", "rate", "ms", "usd", "number"]


@dataclass(frozen=True)
class Metric:
    """A metric key with its label, unit, which direction is better, and what it means."""

    key: str
    label: str
    unit: Unit
    higher_is_better: bool | None  # None: neither direction is better (counts, totals)
    help: str


METRICS: Final[tuple[Metric, ...]] = (
    Metric("tasks", "Tasks", "count", None, "Traces whose root span starts in the window."),
    Metric("task_success_rate", "Task success", "rate", True, "tracereel.task.success if set, else root not ERROR."),
    Metric(
        "groundedness_rate",
        "Groundedness",
        "rate",
        True,
        "Tasks with a groundedness score (any source) whose latest one passes (>= 0.5) / tasks with one.",
    ),
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
    # Kills are an operator's decision, but a version killed more often than another is doing worse.
    Metric("killed_rate", "Killed", "rate", False, "Tasks in which a kill switch stopped an agent call."),
)


METRIC_KEYS: Final[tuple[str, ...]] = tuple(m.key for m in METRICS)
CATALOG: Final[dict[str, Metric]] = {m.key: m for m in METRICS}

# ``score.NAME``: the mean of each task's latest NAME score (any source) over the tasks that have
# one, the metrics answer's ``scores[NAME]["mean"]``. Monitors and the gate accept it beside the
# catalog's keys; a score is higher-is-better (a judge's 0..1, feedback's +1/-1, review's 1 pass / 0 fail).
SCORE_METRIC_PREFIX: Final = "score."


def score_metric(key: str) -> str | None:
    """The score name of a ``score.NAME`` metric key (a valid score name), else None."""
    if not key.startswith(SCORE_METRIC_PREFIX):
        return None
    name = key[len(SCORE_METRIC_PREFIX) :]
    return name if SCORE_NAME_PATTERN.match(name) else None


def metric_info(key: str) -> Metric | None:
    """The catalog's :class:`Metric` for ``key``, including ``score.NAME`` keys; None for an unknown key."""
    known = CATALOG.get(key)
    if known is not None:
        return known
    name = score_metric(key)
    if name is None:
        return None
    return Metric(
        key, f"Score {name}", "number", True, f"Mean of each task's latest {name} score, over tasks with one."
    )


def format_value(metric: Metric | Unit, value: float | None) -> str:
    """A metric value (of ``metric``, or of a unit) for people; ``—`` when it is undefined (null).

    Rates as percentages with one decimal, latencies in whole milliseconds, costs in dollars (four
    decimals under a dollar), counts with thousands separators, other numbers with at most two decimals.
    """
    if value is None:
        return "—"
    unit = metric.unit if isinstance(metric, Metric) else metric
    if unit == "count":
        return f"{int(value):,}"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "ms":
        return f"{value:.0f} ms"  # no separator: a monitor's threshold reads back as typed
    if unit == "usd":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.4f}" if abs(value) < 1 else f"{sign}${abs(value):,.2f}"
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_change(metric: Metric | Unit, diff: float | None) -> str:
    """A signed difference for people: percentage points for rates, the metric's own unit otherwise."""
    if diff is None:
        return "—"
    unit = metric.unit if isinstance(metric, Metric) else metric
    if unit == "rate":
        return f"{diff * 100:+.1f} pts"
    sign = "+" if diff >= 0 else "-"
    return sign + format_value(unit, abs(diff))
