"""A monitor's definition and state as values, and the checks a posted definition passes.

No I/O here: :func:`parse_monitor` turns a posted JSON object into a :class:`Monitor` or raises
:class:`MonitorError` naming the field; the repository stores it and the runner evaluates it.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Literal, cast

from tracereel.monitors import (
    FORMATS,
    NAME_PATTERN,
    Format,
    infer_format,
    is_eval_metric,
    mask_secret,
    mask_url,
    metric_problem,
    parse_window,
)

__all__ = [
    "ACTIONS",
    "STATES",
    "Action",
    "Monitor",
    "MonitorError",
    "MonitorExists",
    "MonitorState",
    "Op",
    "State",
    "parse_monitor",
]

Op = Literal["above", "below"]
# insufficient: fewer tasks (or eval cases) than min_tasks, or no value: no judgement made.
State = Literal["ok", "firing", "insufficient"]
STATES: Final[tuple[State, ...]] = ("ok", "firing", "insufficient")
# What a receiver is told: an incident opened, or closed.
Action = Literal["trigger", "resolve"]
ACTIONS: Final[tuple[Action, ...]] = ("trigger", "resolve")

_MAX_TEXT: Final = 200
_MAX_URL: Final = 2000
_FIELDS: Final = frozenset(
    {
        "name",
        "metric",
        "above",
        "below",
        "window",
        "agent",
        "version",
        "service",
        "dataset",
        "min_tasks",
        "notify",
        "format",
        "routing_key",
    }
)


class MonitorError(ValueError):
    """A posted monitor cannot be stored; the message names the field (answered with 400)."""


class MonitorExists(Exception):
    """A monitor with this name already exists (answered with 409)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Monitor:
    """A threshold on one metric over a sliding window, and where to say so.

    Fires when the value is strictly ``above``/``below`` ``threshold``; judges nothing with fewer
    than ``min_tasks`` tasks in the window (eval metrics: cases in the latest run).
    """

    name: str
    metric: str
    op: Op
    threshold: float
    window_seconds: int
    notify_url: str
    format: Format
    routing_key: str = ""
    agent: str = ""
    version: str = ""
    service: str = ""
    dataset: str = ""
    min_tasks: int = 1
    team: str = ""
    monitor_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = field(default_factory=_now)

    def breached(self, value: float) -> bool:
        """Whether ``value`` is on the firing side of the threshold."""
        return value > self.threshold if self.op == "above" else value < self.threshold

    def public(self) -> dict[str, Any]:
        """The definition as the API shows it: the URL and routing key masked, never whole."""
        return {
            "name": self.name,
            "metric": self.metric,
            "condition": self.op,
            "threshold": self.threshold,
            "window_seconds": self.window_seconds,
            "agent": self.agent or None,
            "version": self.version or None,
            "service": self.service or None,
            "dataset": self.dataset or None,
            "min_tasks": self.min_tasks,
            "format": self.format,
            "notify": mask_url(self.notify_url),
            "routing_key": mask_secret(self.routing_key) or None,
            "team": self.team,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class MonitorState:
    """Where a monitor stands: its last evaluation, its open incident, and what its receiver knows.

    ``notified`` is the last action the receiver accepted for ``dedup_key`` ('' if none);
    ``pending`` the action still to deliver ('' if none). Both are stored, so a restart neither
    repeats a delivered notification nor forgets an undelivered one.
    """

    monitor_id: str
    name: str
    team: str = ""
    state: State = "insufficient"
    since: datetime = field(default_factory=_now)
    value: float | None = None
    tasks: int = 0
    evaluated_at: datetime | None = None
    incident: int = 0
    dedup_key: str = ""
    notified: str = ""
    pending: str = ""

    def public(self) -> dict[str, Any]:
        """The state as the API shows it."""
        return {
            "state": self.state,
            "since": self.since.isoformat(),
            "value": self.value,
            "tasks": self.tasks,
            "evaluated_at": self.evaluated_at.isoformat() if self.evaluated_at else None,
            "dedup_key": self.dedup_key or None,
            "notified": self.notified or None,
            "pending": self.pending or None,
        }


def _text(data: dict[str, Any], key: str, *, limit: int = _MAX_TEXT) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MonitorError(f"{key}: expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise MonitorError(f"{key}: longer than {limit} characters")
    return value.strip()


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MonitorError(f"{key}: expected a finite number, got {value!r}")
    return float(value)


def parse_monitor(data: Any, *, team: str = "") -> Monitor:
    """Check a posted definition (a JSON object) and make the :class:`Monitor`; :class:`MonitorError` if wrong."""
    if not isinstance(data, dict):
        raise MonitorError("expected a JSON object describing the monitor")
    body = cast(dict[str, Any], data)
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise MonitorError(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_FIELDS))}")
    name = _text(body, "name")
    if not NAME_PATTERN.match(name):
        raise MonitorError(
            f"name: expected 1-64 letters, digits or . _ - (starting with a letter or digit), got {name!r}"
        )
    metric = _text(body, "metric")
    dataset = _text(body, "dataset")
    problem = metric_problem(metric, dataset or None)
    if problem:
        raise MonitorError(f"metric: {problem}")
    has_above, has_below = body.get("above") is not None, body.get("below") is not None
    if has_above == has_below:
        raise MonitorError("give exactly one of above or below (the threshold the metric must not cross)")
    op: Op = "above" if has_above else "below"
    threshold = _number(body[op], op)
    window = body.get("window", "1h")
    try:
        window_seconds = parse_window(window)
    except ValueError as exc:
        raise MonitorError(f"window: {exc}") from None
    min_tasks = body.get("min_tasks", 1)
    if isinstance(min_tasks, bool) or not isinstance(min_tasks, int) or not 1 <= min_tasks <= 1_000_000:
        raise MonitorError(f"min_tasks: expected a whole number from 1 to 1000000, got {min_tasks!r}")
    url = _text(body, "notify", limit=_MAX_URL)
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise MonitorError("notify: expected the http(s):// URL to send notifications to")
    fmt = _text(body, "format") or infer_format(url)
    if fmt not in FORMATS:
        raise MonitorError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    routing_key = _text(body, "routing_key")
    if fmt == "pagerduty" and not routing_key:
        raise MonitorError("routing_key: the pagerduty format needs the integration's routing key")
    if fmt != "pagerduty" and routing_key:
        raise MonitorError(f"routing_key: only the pagerduty format takes one, not {fmt}")
    agent, version, service = _text(body, "agent"), _text(body, "version"), _text(body, "service")
    if version and not agent:
        raise MonitorError("version: give the agent too (a version is one agent's)")
    if is_eval_metric(metric) and (version or service):
        raise MonitorError("version, service: eval metrics are filtered by dataset and agent only")
    return Monitor(
        name=name,
        metric=metric,
        op=op,
        threshold=threshold,
        window_seconds=window_seconds,
        notify_url=url,
        format=cast(Format, fmt),
        routing_key=routing_key,
        agent=agent,
        version=version,
        service=service,
        dataset=dataset,
        min_tasks=min_tasks,
        team=team,
    )
