"""The canary verdict's wire shape: ``GET /api/v1/compare`` and ``tracereel gate --json`` (docs/gates.md).

``{"verdict", "message", "metrics": {NAME: {"verdict", "baseline", "canary", "effect", "ci",
"p_value", ...}}, ...}``: declared once here, answered by the collector's router, parsed by
:meth:`tracereel.client.CollectorClient.compare`, printed by the CLI and shown by the dashboard.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tracereel.contracts import Response

__all__ = [
    "Comparison",
    "GateVerdict",
    "MetricComparison",
    "MetricGate",
    "MetricVerdict",
    "Verdict",
    "VersionTasks",
    "Window",
]

Verdict = Literal["promote", "fail", "inconclusive"]
MetricVerdict = Literal["better", "worse", "no_difference", "insufficient_data", "not_applicable"]
MetricGate = Literal["pass", "fail", "inconclusive", "not_applicable"]


class MetricComparison(Response):
    """One metric of the canary against the baseline.

    ``effect`` is canary minus baseline in the metric's unit; ``ci`` its interval at
    ``confidence`` (each end a one-sided bound at ``alpha``; an end is null when the data bound it
    nowhere). ``p_value`` is the one-sided p-value in the direction the canary moved, after the
    correction for the number of metrics (``p_value_raw`` before it): below the gate's alpha
    exactly when ``ci`` excludes 0 and the verdict is ``better`` or ``worse``.
    """

    verdict: MetricVerdict
    baseline: float | None = Field(description="The baseline's value of the metric")
    canary: float | None = Field(description="The canary's value of the metric")
    effect: float | None = Field(description="canary - baseline; null until the metric is judged")
    ci: tuple[float | None, float | None] | None = Field(description="The effect's interval at `confidence`")
    p_value: float | None = Field(description="One-sided, corrected for the number of metrics")
    p_value_raw: float | None = Field(description="One-sided, before the correction")
    test: str | None = Field(description="two_proportion_z, bootstrap or normal")
    alpha: float | None = Field(description="This metric's one-sided level: its share of the gate's alpha")
    confidence: float | None = Field(description="The interval's level, 1 - 2 * alpha")
    unit: str = Field(description="What one observation is: tasks, tool calls, calls, successful tasks, ...")
    n_baseline: int
    n_canary: int
    higher_is_better: bool
    tolerance: str | None = Field(description="How much worse it may be: X in its unit or X% of the baseline")
    gate: MetricGate
    reason: str = Field(description="Why the gate is what it is, for people")
    needed_tasks: int | None = Field(description="About how many more canary tasks would decide it")


class GateVerdict(Response):
    """The verdict over every metric judged, without who and when."""

    verdict: Verdict
    message: str
    needed_tasks: int | None = Field(description="About how many more canary tasks would decide an inconclusive gate")
    metrics: dict[str, MetricComparison]


class VersionTasks(Response):
    """One version and how many of its tasks were compared."""

    version: str
    tasks: int


class Window(Response):
    """The window the tasks were read from (ISO-8601)."""

    from_: str = Field(alias="from")
    to: str


class Comparison(GateVerdict):
    """The canary verdict for one agent: ``GET /api/v1/compare``."""

    agent: str
    service: str | None
    baseline: VersionTasks
    canary: VersionTasks
    window: Window
    alpha: float = Field(description="Family-wise, one-sided: the most often equal versions fail the gate")
    min_samples: int
