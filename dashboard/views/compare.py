"""Compare: two versions of an agent (a canary against the stable one) side by side on every metric."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracereel.catalog import METRICS
from tracereel.client import CollectorError
from tracereel.dashboard import ui
from tracereel.dashboard.format import better, format_difference, format_value

st.title("Compare versions")
flt = ui.filters(with_version=False)
api = ui.client()
try:
    rows = api.breakdown("agent", **{k: v for k, v in flt.items() if k != "agent"})
except CollectorError as exc:
    ui.fail(exc)

versions: dict[str, list[dict]] = {}
for row in rows:
    if row["agent"]:
        versions.setdefault(row["agent"], []).append(row)
comparable = {a: sorted(v, key=lambda r: -r["tasks"]) for a, v in versions.items() if len(v) >= 2}
if not comparable:
    st.info(
        "Compare needs two versions of one agent with tasks in this window "
        "(`@tracereel.agent(name=..., version=...)`). Try a longer time window.",
        icon=":material/compare_arrows:",
    )
    st.stop()

agents = sorted(comparable, key=lambda a: -sum(r["tasks"] for r in comparable[a]))
chosen = flt.get("agent") if flt.get("agent") in comparable else agents[0]
agent = st.selectbox("Agent", agents, index=agents.index(chosen), key="compare_agent")
names = [r["version"] for r in comparable[agent]]
left, right = st.columns(2)
# The version with the most tasks is presumed stable; the next one is the canary.
stable = left.selectbox("Stable (baseline)", names, index=0, key="compare_stable")
canary = right.selectbox("Canary", names, index=1 if names[0] == stable else 0, key="compare_canary")
if stable == canary:
    st.warning("Pick two different versions.")
    st.stop()

base = {k: v for k, v in flt.items() if k != "agent"}
try:
    a = api.metrics(agent=agent, version=stable, **base)
    b = api.metrics(agent=agent, version=canary, **base)
except CollectorError as exc:
    ui.fail(exc)

table = pd.DataFrame(
    {
        "metric": [m.label for m in METRICS],
        stable: [format_value(m, a[m.key]) for m in METRICS],
        canary: [format_value(m, b[m.key]) for m in METRICS],
        "difference": [format_difference(m, a[m.key], b[m.key]) for m in METRICS],
        "verdict": [{True: "better", False: "worse", None: ""}[better(m, a[m.key], b[m.key])] for m in METRICS],
    }
)
worse = int((table["verdict"] == "worse").sum())
improved = int((table["verdict"] == "better").sum())
st.markdown(
    f"**{agent}**: canary `{canary}` ({b['tasks']:,} tasks) against stable `{stable}` ({a['tasks']:,} tasks) — "
    f"**{improved} better**, **{worse} worse**."
)


def _highlight(row: pd.Series) -> list[str]:
    colour = {"better": "background-color: #d4f4dd", "worse": "background-color: #fbd5d5"}.get(row["verdict"], "")
    return [colour if col in (canary, "difference", "verdict") else "" for col in row.index]


st.dataframe(table.style.apply(_highlight, axis=1), hide_index=True, height=36 * (len(table) + 1))

rates = [m for m in METRICS if m.unit == "rate"]
fig = go.Figure(
    [
        go.Bar(name=stable, x=[m.label for m in rates], y=[(a[m.key] or 0) * 100 for m in rates]),
        go.Bar(name=canary, x=[m.label for m in rates], y=[(b[m.key] or 0) * 100 for m in rates]),
    ]
)
fig.update_layout(
    barmode="group", title="Rates (%)", height=360, template="plotly_white", margin={"l": 10, "r": 10, "t": 40, "b": 10}
)
st.plotly_chart(fig)
