"""What agent code says about a run beyond its calls: guardrails, escalations, outcome, scores, plans."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace

from tracereel import semconv as sc
from tracereel.sdk._boundaries import task_root_span
from tracereel.sdk._runtime import clock_ns, internal_error, tracer
from tracereel.sdk._serialize import to_json

__all__ = ["escalate", "guardrail", "plan", "record_usage", "score", "set_outcome"]

logger = logging.getLogger("tracereel")


def _current_recording_span() -> trace.Span | None:
    span = trace.get_current_span()
    return span if span.is_recording() else None


def guardrail(name: str, passed: bool, reason: str | None = None) -> bool:
    """Record a guardrail check as a ``guardrail {name}`` span; returns ``passed``.

    A failed check records verdict ``violation`` and counts in ``safety_violation_rate``.
    """
    try:
        attrs: dict[str, Any] = {
            sc.GUARDRAIL_NAME: name,
            sc.GUARDRAIL_VERDICT: sc.VERDICT_PASS if passed else sc.VERDICT_VIOLATION,
        }
        if reason is not None:
            attrs[sc.GUARDRAIL_REASON] = str(reason)
        now = clock_ns()
        tracer().start_span(f"guardrail {name}", attributes=attrs, start_time=now).end(end_time=now)
    except Exception:
        internal_error("recording a guardrail")
    return passed


def escalate(reason: str) -> None:
    """Record that this task was handed to a human, as an ``escalate human`` span."""
    try:
        attrs = {
            sc.ESCALATION: True,
            sc.ESCALATION_REASON: str(reason),
            sc.HANDOFF_TARGET_TYPE: "human",
        }
        now = clock_ns()
        tracer().start_span("escalate human", attributes=attrs, start_time=now).end(end_time=now)
    except Exception:
        internal_error("recording an escalation")


def set_outcome(success: bool) -> None:
    """Mark the current task (the outermost ``@agent`` call) as succeeded or failed."""
    try:
        root = task_root_span()
        if root is None:
            logger.warning("tracereel.set_outcome() called outside any @agent call; ignored")
            return
        root.set_attribute(sc.TASK_SUCCESS, bool(success))
    except Exception:
        internal_error("recording an outcome")


def score(name: str, value: float) -> None:
    """Attach a score to the current span; ``groundedness`` (0..1) feeds ``groundedness_rate``."""
    try:
        span = _current_recording_span()
        if span is None:
            logger.warning("tracereel.score(%r) called outside any traced call; ignored", name)
            return
        number = float(value)
        if name == "groundedness":
            if not (0.0 <= number <= 1.0) or math.isnan(number):
                logger.warning("tracereel.score('groundedness', %r): expected 0..1; ignored", value)
                return
            span.set_attribute(sc.GROUNDEDNESS, number)
        else:
            span.set_attribute(sc.SCORE_PREFIX + name, number)
    except Exception:
        internal_error("recording a score")


def plan(steps: Sequence[Any]) -> None:
    """Record the agent's plan (a list of steps) on the current agent span."""
    try:
        span = _current_recording_span()
        if span is None:
            logger.warning("tracereel.plan() called outside any traced call; ignored")
            return
        span.set_attribute(sc.PLAN_STEPS, to_json(list(steps)))
    except Exception:
        internal_error("recording a plan")


def record_usage(
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    *,
    cost_usd: float | None = None,
    response_model: str | None = None,
) -> None:
    """Set token usage (and optionally an explicit cost) on the current ``@llm`` span."""
    try:
        span = _current_recording_span()
        if span is None:
            logger.warning("tracereel.record_usage() called outside any @llm call; ignored")
            return
        if input_tokens is not None:
            span.set_attribute(sc.USAGE_INPUT_TOKENS, int(input_tokens))
        if output_tokens is not None:
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, int(output_tokens))
        if cost_usd is not None:
            span.set_attribute(sc.COST_USD, float(cost_usd))
        if response_model is not None:
            span.set_attribute(sc.RESPONSE_MODEL, response_model)
    except Exception:
        internal_error("recording usage")
