"""Overview: every metric as a tile with its trend over the window, trend charts and breakdowns."""

from __future__ import annotations

import streamlit as st

from tracereel.catalog import CATALOG, METRICS, Metric
from tracereel.client import CollectorError
from tracereel.dashboard import charts, ui
from tracereel.dashboard.format import format_value
from tracereel.dashboard.scores import score_metric, score_series

st.title("Overview")
flt = ui.filters()
api = ui.client()
try:
    metrics = api.metrics(**flt)
    points = api.timeseries(**flt).points
except CollectorError as exc:
    ui.fail(exc)

if metrics.tasks == 0:
    st.info(
        "No tasks in this window. Instrument an agent with the tracereel SDK "
        "(`tracereel.configure(endpoint=...)`) or fill the store with `tracereel demo`, "
        "or pick a longer time window.",
        icon=":material/search_off:",
    )
    st.stop()

st.caption(f"{metrics.tasks:,} tasks · the line under each number is its trend over the window")
by_key = CATALOG
columns = st.columns(4)
for i, metric in enumerate(METRICS):
    trend: list[float | None] = [getattr(p, metric.key) for p in points if p.tasks]
    if metric.unit == "rate":
        trend = [None if v is None else round(v * 100, 2) for v in trend]
    with columns[i % 4]:
        st.metric(
            metric.label,
            format_value(metric, getattr(metrics, metric.key)),
            help=metric.help,
            border=True,
            chart_data=[v for v in trend if v is not None] or None,
            chart_type="bar" if metric.unit == "count" else "line",
        )

# The charts take rows as mappings (plotly over pandas).
series = [p.model_dump() for p in points]
st.subheader("Trends")
left, right = st.columns(2)
with left:
    rates = [by_key[k] for k in ("task_success_rate", "tool_success_rate", "safety_violation_rate", "retry_rate")]
    st.plotly_chart(charts.trend(series, rates, "Rates (%)"))
    st.plotly_chart(charts.trend(series, [by_key["cost_usd"]], "Cost per bucket (USD)"))
with right:
    latency = [by_key["p50_latency_ms"], by_key["p95_latency_ms"]]
    st.plotly_chart(charts.trend(series, latency, "Task latency (ms)"))
    st.plotly_chart(charts.trend(series, [by_key["tasks"]], "Tasks per bucket"))

# One small chart per score name present in the window: each task's latest score, averaged per bucket.
st.subheader("Scores")
by_name = score_series(points)
if not by_name:
    st.caption("No scores in this window (tracereel.score(), user feedback, online rules, reviews or the API).")
columns = st.columns(3)
for i, (name, rows) in enumerate(by_name.items()):
    stat = metrics.scores.get(name)
    title = f"{name}: mean {format_value('number', stat.mean)} over {stat.count:,} tasks" if stat else name
    with columns[i % 3]:
        st.plotly_chart(charts.trend(rows, [score_metric(name)], title))

st.subheader("Breakdowns")
try:
    models = [row.model_dump() for row in api.breakdown("model", **flt).rows]
    tools = [row.model_dump() for row in api.breakdown("tool", **flt).rows]
    agents = [row.model_dump() for row in api.breakdown("agent", **flt).rows]
except CollectorError as exc:
    ui.fail(exc)
left, middle, right = st.columns(3)
with left:
    st.plotly_chart(charts.bars(models, "model", by_key["cost_usd"], "Cost by model"))
with middle:
    for row in tools:
        row["tool_failure_rate"] = None if row["tool_success_rate"] is None else 1 - row["tool_success_rate"]
    failure = Metric("tool_failure_rate", "Tool failures", "rate", False, "Tool calls in ERROR (timeouts and errors).")
    st.plotly_chart(charts.bars(tools, "tool", failure, "Error rate by tool (%)"))
with right:
    for row in agents:
        row["label"] = f"{row['agent'] or '(no agent)'} {row['version']}".strip()
    st.plotly_chart(
        charts.bars(agents, "label", by_key["p95_latency_ms"], "p95 latency by agent version"),
    )
