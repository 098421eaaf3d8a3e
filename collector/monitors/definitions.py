"""A monitor's definition and state as values.

No I/O here. A posted definition is checked by its model
(:class:`tracereel.contracts.monitors.MonitorDefinition`, the same one the CLI checks before
sending); :func:`monitor_from` makes the :class:`Monitor` the repository stores and the runner
evaluates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Final, Literal

from tracereel.contracts.monitors import MonitorDefinition, MonitorView
from tracereel.contracts.monitors import MonitorState as StateView
from tracereel.monitors import Format, mask_secret, mask_url

__all__ = [
    "ACTIONS",
    "STATES",
    "Action",
    "Monitor",
    "MonitorExists",
    "MonitorState",
    "Op",
    "State",
    "monitor_from",
]

Op = Literal["above", "below"]
# insufficient: fewer tasks (or eval cases) than min_tasks, or no value: no judgement made.
State = Literal["ok", "firing", "insufficient"]
STATES: Final[tuple[State, ...]] = ("ok", "firing", "insufficient")
# What a receiver is told: an incident opened, or closed.
Action = Literal["trigger", "resolve"]
ACTIONS: Final[tuple[Action, ...]] = ("trigger", "resolve")


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

    def public(self) -> MonitorView:
        """The definition as the API shows it: the URL and routing key masked, never whole."""
        return MonitorView(
            name=self.name,
            metric=self.metric,
            condition=self.op,
            threshold=self.threshold,
            window_seconds=self.window_seconds,
            agent=self.agent or None,
            version=self.version or None,
            service=self.service or None,
            dataset=self.dataset or None,
            min_tasks=self.min_tasks,
            format=self.format,
            notify=mask_url(self.notify_url),
            routing_key=mask_secret(self.routing_key) or None,
            team=self.team,
            created_at=self.created_at.isoformat(),
        )


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

    def public(self) -> StateView:
        """The state as the API shows it."""
        return StateView(
            state=self.state,
            since=self.since.isoformat(),
            value=self.value,
            tasks=self.tasks,
            evaluated_at=self.evaluated_at.isoformat() if self.evaluated_at else None,
            dedup_key=self.dedup_key or None,
            notified=self.notified or None,
            pending=self.pending or None,
        )


def monitor_from(definition: MonitorDefinition, *, team: str = "") -> Monitor:
    """The :class:`Monitor` a checked definition describes, for ``team`` ('' for every team)."""
    return Monitor(
        name=definition.name,
        metric=definition.metric,
        op=definition.op,
        threshold=definition.threshold,
        window_seconds=definition.window_seconds,
        notify_url=definition.notify,
        format=definition.resolved_format,
        routing_key=definition.routing_key or "",
        agent=definition.agent or "",
        version=definition.version or "",
        service=definition.service or "",
        dataset=definition.dataset or "",
        min_tasks=definition.min_tasks,
        team=team,
    )
