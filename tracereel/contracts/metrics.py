"""The metrics API: ``GET /api/v1/metrics``, ``/api/v1/metrics/timeseries``, ``/api/v1/metrics/breakdown``.

:class:`Metrics` has one field per key of :data:`tracereel.catalog.METRIC_KEYS` (a test holds
them equal); the catalog says what each means and how to show it, this says its wire type.
Rates are fractions in [0, 1], null when their denominator is 0.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tracereel.contracts import Response

__all__ = [
    "AgentBreakdown",
    "AgentRow",
    "Breakdown",
    "BreakdownBy",
    "Metrics",
    "ModelBreakdown",
    "ModelRow",
    "Point",
    "ScoreStat",
    "ServiceBreakdown",
    "ServiceRow",
    "Timeseries",
    "ToolBreakdown",
    "ToolRow",
]

BreakdownBy = Literal["model", "tool", "agent", "service"]

_Rate = Annotated[float | None, Field(ge=0, le=1)]
_Count = Annotated[int, Field(ge=0)]
_Amount = Annotated[float | None, Field(ge=0)]


class ScoreStat(Response):
    """One score name over a set of tasks: each task's latest score of it (any source), averaged."""

    mean: float = Field(description="Mean of the tasks' latest scores of this name")
    count: _Count = Field(description="Tasks with a score of this name")


_Scores = Annotated[
    dict[str, ScoreStat],
    Field(description="Per score name (the gate's and monitors' score.NAME): its mean and how many tasks have one"),
]


class Metrics(Response):
    """Every agent metric over a set of tasks (DESIGN.md "Metric definitions"), and their scores."""

    tasks: _Count
    task_success_rate: _Rate
    groundedness_rate: _Rate
    tool_calls: _Count
    tool_success_rate: _Rate
    tool_timeout_rate: _Rate
    tool_error_rate: _Rate
    retry_rate: _Rate
    loop_rate: _Rate
    steps_per_task: _Amount
    steps_per_task_p95: _Amount
    plan_length: _Amount
    p50_latency_ms: _Amount
    p95_latency_ms: _Amount
    cost_usd: Annotated[float, Field(ge=0)]
    cost_coverage: _Rate
    cost_per_successful_task_usd: _Amount
    safety_violation_rate: _Rate
    human_escalation_rate: _Rate
    killed_rate: _Rate
    scores: _Scores = Field(default_factory=dict)


class Point(Response):
    """One time bucket: its start and the metrics asked for (all of them unless ``?metric=`` named one).

    A bucket without tasks has ``tasks`` 0 and null rates; a metric not asked for is absent.
    ``scores`` holds the score names asked for (``?metric=score.NAME``; all of them by default)
    that have a score in the bucket.
    """

    start: int = Field(description="The bucket's start, unix seconds")
    tasks: _Count | None = None
    task_success_rate: _Rate = None
    groundedness_rate: _Rate = None
    tool_calls: _Count | None = None
    tool_success_rate: _Rate = None
    tool_timeout_rate: _Rate = None
    tool_error_rate: _Rate = None
    retry_rate: _Rate = None
    loop_rate: _Rate = None
    steps_per_task: _Amount = None
    steps_per_task_p95: _Amount = None
    plan_length: _Amount = None
    p50_latency_ms: _Amount = None
    p95_latency_ms: _Amount = None
    cost_usd: _Amount = None
    cost_coverage: _Rate = None
    cost_per_successful_task_usd: _Amount = None
    safety_violation_rate: _Rate = None
    human_escalation_rate: _Rate = None
    killed_rate: _Rate = None
    scores: _Scores | None = None


class Timeseries(Response):
    """``GET /api/v1/metrics/timeseries``: every bucket of the window, oldest first."""

    bucket_seconds: int = Field(ge=1)
    points: list[Point]


class ModelRow(Response):
    """LLM calls, tokens and cost of one model."""

    model: str
    llm_calls: _Count
    input_tokens: _Count
    output_tokens: _Count
    cost_usd: Annotated[float, Field(ge=0)]
    cost_coverage: _Rate


class ToolRow(Response):
    """Calls and outcome rates of one tool."""

    tool: str
    tool_calls: _Count
    tool_success_rate: _Rate
    tool_timeout_rate: _Rate
    tool_error_rate: _Rate
    p95_latency_ms: Annotated[float, Field(ge=0)]


class AgentRow(Metrics):
    """Every metric of one root agent's version."""

    agent: str
    version: str


class ServiceRow(Metrics):
    """Every metric of one service's tasks."""

    service: str


class ModelBreakdown(Response):
    """``?by=model``: cost and tokens per model, costliest first."""

    by: Literal["model"]
    rows: list[ModelRow]


class ToolBreakdown(Response):
    """``?by=tool``: outcome rates per tool, most called first."""

    by: Literal["tool"]
    rows: list[ToolRow]


class AgentBreakdown(Response):
    """``?by=agent``: every metric per root agent and version, most tasks first."""

    by: Literal["agent"]
    rows: list[AgentRow]


class ServiceBreakdown(Response):
    """``?by=service``: every metric per service, most tasks first."""

    by: Literal["service"]
    rows: list[ServiceRow]


Breakdown = Annotated[ModelBreakdown | ToolBreakdown | AgentBreakdown | ServiceBreakdown, Field(discriminator="by")]
"""``GET /api/v1/metrics/breakdown``: rows of the kind ``by`` names."""
