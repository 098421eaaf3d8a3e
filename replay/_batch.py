"""Replaying many recorded traces from a collector: a CI gate over real traffic (``tracereel replay --all``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracereel.replay._report import ReplayReport
from tracereel.replay._run import replay
from tracereel.replay._source import fetch_trace, list_traces
from tracereel.replay._tape import CannotReplay

__all__ = ["STATUSES", "BatchReport", "replay_all"]

STATUSES: Final = ("reproduced", "diverged", "cannot_run")


@dataclass
class BatchReport:
    """The reports of a batch replay, newest trace first; ``exit_code`` as for one replay."""

    reports: list[ReplayReport] = field(default_factory=list[ReplayReport])

    @property
    def counts(self) -> dict[str, int]:
        """How many traces reproduced, diverged and could not run."""
        return {status: sum(1 for r in self.reports if r.status == status) for status in STATUSES}

    @property
    def exit_code(self) -> int:
        """1 if any trace diverged, else 2 if any could not run, else 0."""
        counts = self.counts
        if counts["diverged"]:
            return 1
        return 2 if counts["cannot_run"] else 0

    def to_dict(self) -> dict[str, Any]:
        """``{"summary": counts, "reports": [...]}``, what ``replay --all --json`` prints."""
        return {"summary": self.counts, "reports": [r.to_dict() for r in self.reports]}


def replay_all(
    collector: str | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    agent: str | None = None,
    limit: int = 100,
    replay_options: Mapping[str, Any] | None = None,
) -> BatchReport:
    """Replay the newest ``limit`` traces the collector lists (replays and eval runs are not listed).

    ``replay_options`` are :func:`tracereel.replay.replay`'s keyword arguments. Raises
    :class:`CannotReplay` when the traces cannot be listed; a trace that cannot be fetched or
    replayed is a ``cannot_run`` report in the batch.
    """
    options = dict(replay_options or {})
    batch = BatchReport()
    for trace_id in _ids(list_traces(collector, since=since, until=until, agent=agent, limit=limit)):
        try:
            trace = fetch_trace(trace_id, collector)
        except CannotReplay as exc:
            batch.reports.append(ReplayReport(trace_id=trace_id, status="cannot_run", error=str(exc)))
            continue
        batch.reports.append(replay(trace, **options))
    return batch


def _ids(summaries: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(s["trace_id"]) for s in summaries]
