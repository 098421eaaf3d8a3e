"""Scores on the dashboard, without Streamlit (easy to test): a trace's score rows and the Overview's score trends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracereel.catalog import SCORE_METRIC_PREFIX, Metric, metric_info
from tracereel.contracts.metrics import Point
from tracereel.dashboard.format import format_value
from tracereel.traces import ScoreJSON

__all__ = ["SCORE_COLUMNS", "score_metric", "score_rows", "score_series"]

SCORE_COLUMNS = ("name", "value", "label", "source", "author", "comment", "time")


def score_rows(scores: Sequence[ScoreJSON]) -> list[dict[str, str]]:
    """A trace's scores as table rows, oldest first; a missing label, author or comment shows as ``—``."""
    rows: list[dict[str, str]] = []
    for score in sorted(scores, key=lambda s: (s["time"], s["id"])):
        rows.append(
            {
                "name": score["name"],
                "value": format_value("number", score["value"]),
                "label": score["label"] or "—",
                "source": score["source"],
                "author": score["author"] or "—",
                "comment": score["comment"] or "—",
                "time": score["time"].replace("T", " ").removesuffix("Z")[:19] + " UTC",
            }
        )
    return rows


def score_metric(name: str) -> Metric:
    """The ``score.NAME`` metric (label, unit, direction) of a score name, for charts."""
    info = metric_info(SCORE_METRIC_PREFIX + name)
    assert info is not None, name  # names come from the collector, which stores valid ones only
    return info


def score_series(points: Sequence[Point]) -> dict[str, list[dict[str, Any]]]:
    """Per score name present in the window (sorted): timeseries rows ``{"start", "score.NAME": mean}``.

    A bucket where the name has no score has ``None`` (a gap in the chart).
    """
    names = sorted({name for p in points for name in (p.scores or {})})
    series: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        key = SCORE_METRIC_PREFIX + name
        series[name] = [
            {"start": p.start, key: (stat.mean if (stat := (p.scores or {}).get(name)) else None)} for p in points
        ]
    return series
