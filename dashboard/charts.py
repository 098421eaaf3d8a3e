"""Plotly figures for the dashboard: trends, breakdown bars, a trace's waterfall and eval history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Final

import plotly.graph_objects as go

from tracereel.contracts.evals import EvalRunSummary
from tracereel.dashboard.evalruns import history_axis
from tracereel.dashboard.format import Metric, format_value, short_ms
from tracereel.traces import SpanNode

__all__ = ["KIND_COLORS", "bars", "eval_history", "tag_pass_rates", "trend", "waterfall"]

KIND_COLORS: Final = {
    "agent": "#4C78A8",
    "llm": "#9467BD",
    "tool": "#F58518",
    "guardrail": "#54A24B",
    "other": "#9D9D9D",
}
ERROR_COLOR: Final = "#D62728"
_LAYOUT: Final = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "template": "plotly_white"}


def trend(points: list[dict[str, Any]], metrics: list[Metric], title: str) -> go.Figure:
    """Lines of ``metrics`` over the timeseries ``points`` (buckets without tasks are gaps)."""
    times = [datetime.fromtimestamp(p["start"], tz=timezone.utc) for p in points]
    fig = go.Figure()
    for metric in metrics:
        values = [p.get(metric.key) for p in points]
        if metric.unit == "rate":
            values = [None if v is None else v * 100 for v in values]
        fig.add_trace(
            go.Scatter(
                x=times,
                y=values,
                name=metric.label,
                mode="lines+markers",
                connectgaps=False,
                hovertemplate="%{x|%b %d %H:%M}: %{y:.3~f}<extra>" + metric.label + "</extra>",
            )
        )
    unit = {"rate": "%", "ms": "ms", "usd": "USD"}.get(metrics[0].unit, "")
    fig.update_layout(title=title, height=280, yaxis_title=unit, legend={"orientation": "h", "y": -0.2}, **_LAYOUT)
    return fig


def bars(rows: list[dict[str, Any]], label_key: str, metric: Metric, title: str) -> go.Figure:
    """Horizontal bars of ``metric`` per row (e.g. cost by model), largest first."""
    rows = [r for r in rows if r.get(metric.key) is not None]
    rows.sort(key=lambda r: r[metric.key])
    scale = 100 if metric.unit == "rate" else 1
    fig = go.Figure(
        go.Bar(
            x=[r[metric.key] * scale for r in rows],
            y=[str(r[label_key]) or "(none)" for r in rows],
            orientation="h",
            text=[format_value(metric, r[metric.key]) for r in rows],
            textposition="auto",
            marker_color="#4C78A8",
        )
    )
    fig.update_layout(title=title, height=max(220, 40 + 32 * len(rows)), **_LAYOUT)
    return fig


def waterfall(nodes: list[SpanNode]) -> go.Figure:
    """A timeline of every span (``nodes`` in reading order), indented by depth, coloured by kind, errors red."""
    t0 = min(n.span["start_time_unix_nano"] for n in nodes)
    labels = [f"{i:>3}  {'  ' * n.depth}{n.span['name']}" for i, n in enumerate(nodes, 1)]
    starts = [(n.span["start_time_unix_nano"] - t0) / 1e6 for n in nodes]
    durations = [max(n.span["duration_ns"] / 1e6, 0.5) for n in nodes]
    colors = [
        ERROR_COLOR if n.span["status_code"] == "ERROR" else KIND_COLORS.get(n.span["kind"], KIND_COLORS["other"])
        for n in nodes
    ]
    hover = [
        f"{n.span['name']}<br>{n.span['kind']} · {short_ms(n.span['duration_ns'] / 1e6)} · {n.span['status_code']}"
        f"<br>starts at +{short_ms(s)}"
        for n, s in zip(nodes, starts, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            base=starts,
            x=durations,
            y=labels,
            orientation="h",
            marker_color=colors,
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_yaxes(autorange="reversed", tickfont={"family": "monospace", "size": 11})
    fig.update_xaxes(title="ms since the trace started")
    fig.update_layout(title="Timeline", height=max(240, 60 + 24 * len(nodes)), showlegend=False, **_LAYOUT)
    return fig


def eval_history(runs: Sequence[EvalRunSummary], title: str) -> go.Figure:
    """Pass rate and each mean score of a dataset's runs (summaries, oldest first) in %: over time,
    or one step per run when runs started close together (``evalruns.history_axis``)."""
    xs, by_order = history_axis(runs)
    ids = [r.run_id for r in runs]
    fig = go.Figure()
    series: list[tuple[str, list[float | None]]] = [("pass rate", [r.pass_rate for r in runs])]
    for name in sorted({n for r in runs for n in r.scores}):
        series.append((f"mean {name}", [r.scores.get(name) for r in runs]))
    when = "%{x}" if by_order else "%{x|%b %d %H:%M}"
    for label, values in series:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[None if v is None else v * 100 for v in values],
                name=label,
                mode="lines+markers",
                customdata=ids,
                line={"width": 3} if label == "pass rate" else {"dash": "dot"},
                hovertemplate=when + " · run %{customdata}: %{y:.1f}%<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(
        title=title,
        height=320,
        yaxis_title="%",
        yaxis_range=[0, 105],
        legend={"orientation": "h", "y": -0.2},
        **_LAYOUT,
    )
    if by_order:
        fig.update_xaxes(type="category", title="run (oldest first)")
    return fig


def tag_pass_rates(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Bars of the pass rate per tag value (rows of ``evalruns.tag_breakdown``), one colour per tag."""
    fig = go.Figure()
    for tag in dict.fromkeys(r["tag"] for r in rows):
        mine = [r for r in rows if r["tag"] == tag]
        fig.add_trace(
            go.Bar(
                x=[f"{tag}={r['value']}" for r in mine],
                y=[r["pass rate"] * 100 for r in mine],
                name=tag,
                text=[f"{r['passed']}/{r['cases']}" for r in mine],
                textposition="auto",
            )
        )
    fig.update_layout(title=title, height=300, yaxis_title="% passed", yaxis_range=[0, 105], **_LAYOUT)
    return fig
