"""Failures: the failing tasks grouped into clusters, ranked by size and trend, with examples and the command
that turns a cluster into golden cases."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError
from tracereel.dashboard import ui
from tracereel.dashboard.failures import add_command, cluster_rows, ranked, trend

_WINDOWS = ("1h", "24h", "7d", "30d")

st.title("Failures")
api = ui.client()
with st.sidebar:
    st.caption(f"Collector: `{api.base_url}`")
    window = st.selectbox("Window", _WINDOWS, index=1, key="failures_window")
    agent = st.text_input("Agent", key="failures_agent").strip() or None
try:
    clusters = ranked(api.clusters(window=window, agent=agent))
except CollectorError as exc:
    ui.fail(exc)
if not clusters:
    st.info(
        f"No failing tasks in the last {window}. A task fails when it ends in error or reports "
        "success false, a guardrail finds a violation, a user gives a thumbs-down, or an online score fails.",
        icon=":material/check_circle:",
    )
    st.stop()

st.caption(
    f"{sum(c.size for c in clusters)} failing tasks in the last {window}, in {len(clusters)} clusters; "
    "the trend compares them with the window before."
)
st.dataframe(
    pd.DataFrame(cluster_rows(clusters)),
    hide_index=True,
    key="clusters_table",
    column_config={"example": st.column_config.LinkColumn("example", display_text="open trace")},
)

st.subheader("Cluster")
ids = [c.id for c in clusters]
chosen_id = st.selectbox(
    "Cluster", ids, key="failures_cluster", format_func=lambda i: f"{i} ({ids.index(i) + 1} of {len(ids)})"
)
chosen = next(c for c in clusters if c.id == chosen_id)
cols = st.columns(3)
cols[0].metric("Failing tasks", chosen.size)
cols[1].metric("Window before", chosen.previous_size)
cols[2].metric("Trend", trend(chosen))
st.markdown(f"**Signature** `{chosen.signature}` · **terms** {', '.join(chosen.terms) or '(no words)'}")
st.caption(f"First seen {chosen.first_seen}, last seen {chosen.last_seen}; agents: {', '.join(chosen.agents)}")
for trace_id in chosen.examples:
    st.page_link("views/trace.py", label=f"Example {trace_id}", query_params={"trace_id": trace_id})
st.markdown("Turn it into golden cases (each example's input and recorded tools, expected to fill in):")
st.code(add_command(chosen.id), language="bash")
