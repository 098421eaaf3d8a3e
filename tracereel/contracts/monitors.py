"""Monitors: ``POST|GET /api/v1/monitors``, ``DELETE /api/v1/monitors/{name}``, ``GET .../{name}/history``.

:class:`MonitorDefinition` is what ``tracereel monitor add`` sends and the collector checks:
the CLI validates it before sending, the collector again before storing, with the same model.
Its rules come from :mod:`tracereel.monitors` (metric names, windows, formats).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tracereel.contracts import Request, Response
from tracereel.monitors import NAME_PATTERN, Format, infer_format, is_eval_metric, metric_problem, parse_window

__all__ = [
    "HistoryEntry",
    "MonitorDefinition",
    "MonitorHistory",
    "MonitorList",
    "MonitorState",
    "MonitorView",
    "MonitorWithState",
    "RemovedMonitor",
]

_MAX_TEXT = 200
_URL = re.compile(r"^https?://\S{3,}$")
_Text = Annotated[str | None, Field(max_length=_MAX_TEXT)]


class MonitorDefinition(Request):
    """A monitor to add: a threshold on one metric over a sliding window, and where to notify.

    Exactly one of ``above`` and ``below``; ``format`` defaults to what the ``notify`` URL's
    host expects; ``routing_key`` is for (and required by) the pagerduty format.
    """

    # Patterns checked by validators below, so that the messages say what is expected.
    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern}, description="1-64 letters, digits or . _ -")
    metric: str = Field(
        max_length=_MAX_TEXT,
        description="A metrics API key, score.NAME, or eval.pass_rate / eval.score.<scorer> with a dataset",
    )
    above: float | None = Field(None, allow_inf_nan=False, description="Fire when the metric is above this")
    below: float | None = Field(None, allow_inf_nan=False, description="Fire when the metric is below this")
    window: str | int = Field("1h", description="Sliding window: seconds, or 30m, 1h, 1d, ... (at most 30d)")
    agent: _Text = Field(None, description="Only tasks of this root agent (eval metrics: runs of this agent)")
    version: _Text = Field(None, description="Only tasks of this agent version (needs agent)")
    service: _Text = Field(None, description="Only tasks of this service")
    dataset: _Text = Field(None, description="The golden set whose eval runs an eval.* metric reads")
    min_tasks: int = Field(1, ge=1, le=1_000_000, strict=True, description="Judge nothing with fewer tasks")
    notify: str = Field(
        max_length=2000,
        json_schema_extra={"pattern": _URL.pattern},
        description="The http(s) URL notifications are POSTed to",
    )
    format: Format | None = Field(None, description="Body format; default: inferred from the notify URL's host")
    routing_key: _Text = Field(None, description="PagerDuty integration (routing) key; pagerduty format only")

    @field_validator("name", "metric", "agent", "version", "service", "dataset", "notify", "routing_key")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"expected 1-64 letters, digits or . _ - (starting with a letter or digit), got {value!r}")
        return value

    @field_validator("notify")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError("expected the http(s):// URL to send notifications to")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        parse_window(value)  # its ValueError names the window
        return value

    @field_validator("above", "below")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MonitorDefinition:
        # Each message starts with the field it is about, like pydantic's own.
        problem = metric_problem(self.metric, self.dataset or None)
        if problem:
            raise ValueError(f"metric: {problem}")
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below (the threshold the metric must not cross)")
        if self.resolved_format == "pagerduty" and not self.routing_key:
            raise ValueError("routing_key: the pagerduty format needs the integration's routing key")
        if self.resolved_format != "pagerduty" and self.routing_key:
            raise ValueError(f"routing_key: only the pagerduty format takes one, not {self.resolved_format}")
        if self.version and not self.agent:
            raise ValueError("version: give the agent too (a version is one agent's)")
        if is_eval_metric(self.metric) and (self.version or self.service):
            raise ValueError("version, service: eval metrics are filtered by dataset and agent only")
        return self

    @property
    def op(self) -> Literal["above", "below"]:
        """Which side of the threshold fires."""
        return "above" if self.above is not None else "below"

    @property
    def threshold(self) -> float:
        """The threshold the metric must not cross."""
        value = self.above if self.above is not None else self.below
        assert value is not None  # _consistent holds exactly one
        return value

    @property
    def window_seconds(self) -> int:
        """The window in seconds."""
        return parse_window(self.window)

    @property
    def resolved_format(self) -> Format:
        """The format given, else the one the notify URL's host expects."""
        return self.format or infer_format(self.notify)


class MonitorView(Response):
    """A stored monitor as the API shows it: the notify URL and routing key masked, never whole."""

    name: str
    metric: str
    condition: Literal["above", "below"]
    threshold: float
    window_seconds: int = Field(ge=1)
    agent: str | None
    version: str | None
    service: str | None
    dataset: str | None
    min_tasks: int = Field(ge=1)
    format: Format
    notify: str = Field(description="Scheme, host and port only")
    routing_key: str | None = Field(description="The last 4 characters only")
    team: str
    created_at: str = Field(description="ISO 8601")


class MonitorState(Response):
    """Where a monitor stands after its latest evaluation."""

    state: Literal["ok", "firing", "insufficient"]
    since: str = Field(description="ISO 8601: when it entered this state")
    value: float | None
    tasks: int = Field(ge=0)
    evaluated_at: str | None
    dedup_key: str | None
    notified: str | None = Field(description="The last action the receiver accepted")
    pending: str | None = Field(description="The action still to deliver")


class MonitorWithState(MonitorView):
    """A monitor and its state (None before its first evaluation)."""

    status: MonitorState | None


class MonitorList(Response):
    """``GET /api/v1/monitors``: every monitor the key may see, by name."""

    monitor_interval: float = Field(description="Seconds between evaluations; 0: this collector does not evaluate")
    monitors: list[MonitorWithState]


class RemovedMonitor(Response):
    """``DELETE /api/v1/monitors/{name}``."""

    removed: str


class HistoryEntry(Response):
    """A change of state (``kind: state``) or a notification attempt (``kind: delivery``)."""

    time: str = Field(description="ISO 8601")
    kind: Literal["state", "delivery"]
    state: Literal["ok", "firing", "insufficient"] | None = None
    value: float | None = None
    tasks: int | None = None
    action: Literal["trigger", "resolve"] | None = None
    dedup_key: str | None = None
    attempt: int | None = None
    status_code: int | None = None
    outcome: str | None = None
    error: str | None = None


class MonitorHistory(Response):
    """``GET /api/v1/monitors/{name}/history``: newest first."""

    name: str
    history: list[HistoryEntry]
