"""Monitors: each monitor's state, its value against the threshold, its history, and the traces behind a firing one."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError
from tracereel.constants import API_PREFIX
from tracereel.dashboard import ui
from tracereel.dashboard.monitors import history_rows, link_target, monitor_rows

st.title("Monitors")
api = ui.client()
with st.sidebar:
    st.caption(f"Collector: `{api.base_url}`")
try:
    answer = api.get(f"{API_PREFIX}/monitors")
except CollectorError as exc:
    ui.fail(exc)
monitors = answer["monitors"]
interval = answer.get("monitor_interval") or 0
if interval:
    st.caption(f"The collector evaluates every monitor every {interval:g} s.")
else:
    st.warning("The collector's monitors are off (`--monitor-interval 0`): nothing is evaluated.")
if not monitors:
    st.info(
        "No monitors yet. Add one with `tracereel monitor add NAME --metric task_success_rate --below 0.9 "
        "--window 1h --notify URL` (docs/monitors.md).",
        icon=":material/notifications:",
    )
    st.stop()

now = int(time.time())
rows = monitor_rows(monitors, now)
states = [(m.get("status") or {}).get("state") for m in monitors]
cols = st.columns(3)
cols[0].metric("Firing", states.count("firing"))
cols[1].metric("OK", states.count("ok"))
cols[2].metric("Insufficient data", states.count("insufficient"))
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    key="monitors_table",
    column_config={
        "since": st.column_config.DatetimeColumn("since", format="YYYY-MM-DD HH:mm:ss"),
        "traces": st.column_config.LinkColumn(
            "traces", display_text="open traces", help="The traces in the window of a firing monitor"
        ),
    },
)

# A firing monitor's way to what is behind it, as a link a person (and a browser test) can follow.
for monitor in monitors:
    if (monitor.get("status") or {}).get("state") == "firing":
        page, params = link_target(monitor, now)
        label = "runs" if page == "evals" else "traces"
        st.page_link(
            f"views/{page}.py",
            label=f"The {label} behind {monitor['name']} (firing)",
            query_params=params,
            icon=":material/search:",
        )

st.subheader("History")
names = [m["name"] for m in monitors]
firing_first = next((m["name"] for m in monitors if (m.get("status") or {}).get("state") == "firing"), names[0])
name = st.selectbox("Monitor", names, index=names.index(firing_first), key="monitor_history")
chosen = next(m for m in monitors if m["name"] == name)
try:
    # The table helpers (dashboard/monitors.py) take rows as mappings.
    history = [entry.model_dump() for entry in api.monitor_history(name)]
except CollectorError as exc:
    ui.fail(exc)
if not history:
    st.caption(f"{name} has not changed state yet.")
else:
    table = pd.DataFrame(history_rows(chosen, history))
    table["time"] = pd.to_datetime(table["time"], utc=True)
    st.dataframe(
        table,
        hide_index=True,
        key="history_table",
        column_config={"time": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss.SSS")},
    )
