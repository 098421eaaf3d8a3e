"""Compare: a canary version of an agent against the stable one, with the gate's statistics.

The verdicts are the collector's (``GET /api/v1/compare``, what ``tracereel gate`` reads): a
metric is coloured better or worse only when the difference is significant; no difference and
too little data stay neutral, however large the raw difference looks.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracereel.catalog import CATALOG
from tracereel.client import CollectorError
from tracereel.dashboard import ui
from tracereel.dashboard.format import format_change, format_value

# Colour only where there is evidence; everything else is neutral grey.
COLOURS = {"better": "#1a7f37", "worse": "#cf222e"}
NEUTRAL = "#8c959f"
_BACKGROUNDS = {"better": "background-color: #d4f4dd", "worse": "background-color: #fbd5d5"}

st.title("Compare versions")
flt = ui.filters(with_version=False)
api = ui.client()
try:
    # The table below reads rows as mappings.
    rows = [row.model_dump() for row in api.breakdown("agent", **{k: v for k, v in flt.items() if k != "agent"}).rows]
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

try:
    answer = api.compare(agent, stable, canary, start=flt["start"], end=flt["end"], service=flt.get("service"))
except CollectorError as exc:
    ui.fail(exc)

metrics = answer.metrics
verdicts = [m.verdict for m in metrics.values()]
st.markdown(
    f"**{agent}**: canary `{canary}` ({answer.canary.tasks:,} tasks) against stable `{stable}` "
    f"({answer.baseline.tasks:,} tasks) — verdict **{answer.verdict}**: "
    f"{verdicts.count('better')} better, {verdicts.count('worse')} worse, "
    f"{verdicts.count('no_difference')} no difference, {verdicts.count('insufficient_data')} insufficient data"
    + (f", {verdicts.count('not_applicable')} not applicable." if "not_applicable" in verdicts else ".")
)
st.caption(answer.message)
st.code(f"tracereel gate --agent {agent} --canary {canary} --baseline {stable}", language="bash")


def _interval(key: str, ci: tuple[float | None, float | None] | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "—"
    return f"{format_change(CATALOG[key], ci[0])} to {format_change(CATALOG[key], ci[1])}"


def _level(confidence: float | None) -> str:
    return "—" if confidence is None else f"{confidence * 100:.4g}%"


def _p(value: float | None) -> str:
    return "—" if value is None else ("< 0.001" if value < 0.001 else f"{value:.3f}")


table = pd.DataFrame(
    {
        "metric": [CATALOG[k].label for k in metrics],
        stable: [format_value(CATALOG[k], m.baseline) for k, m in metrics.items()],
        canary: [format_value(CATALOG[k], m.canary) for k, m in metrics.items()],
        "difference": ["—" if m.effect is None else format_change(CATALOG[k], m.effect) for k, m in metrics.items()],
        "interval": [_interval(k, m.ci) for k, m in metrics.items()],
        "level": [_level(m.confidence) if m.ci else "—" for m in metrics.values()],
        "p (corrected)": [_p(m.p_value) for m in metrics.values()],
        "verdict": verdicts,
    }
)


def _highlight(row: pd.Series) -> list[str]:
    colour = _BACKGROUNDS.get(row["verdict"], "")
    return [colour if col in (canary, "difference", "verdict") else "" for col in row.index]


st.dataframe(table.style.apply(_highlight, axis=1), hide_index=True, height=36 * (len(table) + 1))
st.caption(
    f"better / worse: significant one-sided at each metric's share of {answer.alpha:g} (a weighted Bonferroni "
    "correction for the number of metrics, half of it on task success); each interval is at the same level, "
    "so it excludes 0 exactly then. no_difference: the data show none. insufficient_data: too few tasks "
    "to judge. not_applicable: neither version has any (see docs/gates.md)."
)


def _end(value: float | None, effect: float) -> float:
    # An end the data bound nowhere is drawn at the effect (no bar) rather than at infinity.
    return effect if value is None else value * 100


# The rates' differences with their intervals: an interval across 0 is no evidence either way.
rates = [k for k, m in metrics.items() if CATALOG[k].unit == "rate" and m.effect is not None and m.ci]
if rates:
    effects = [(metrics[k].effect or 0.0) * 100 for k in rates]
    cis = [metrics[k].ci or (None, None) for k in rates]
    fig = go.Figure(
        go.Scatter(
            x=[CATALOG[k].label for k in rates],
            y=effects,
            mode="markers",
            marker={"size": 12, "color": [COLOURS.get(metrics[k].verdict, NEUTRAL) for k in rates]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [_end(ci[1], e) - e for ci, e in zip(cis, effects, strict=True)],
                "arrayminus": [e - _end(ci[0], e) for ci, e in zip(cis, effects, strict=True)],
                "color": NEUTRAL,
            },
            name="canary − stable",
        )
    )
    fig.add_hline(y=0, line_color=NEUTRAL, line_dash="dot")
    fig.update_layout(
        title="Rates: canary − stable (points), with each metric's interval",
        height=360,
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    st.plotly_chart(fig)
