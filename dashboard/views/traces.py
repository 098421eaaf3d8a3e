"""Traces: a searchable, filterable table of traces, newest first; selecting a row opens the trace.

Two searches: "Search payloads" asks the collector for the traces whose inputs, outputs, messages
or tool calls contain every word (full-text, over the whole window); "Find" narrows the rows
shown by trace id, agent, root span or version.

Linked from a firing monitor (the Monitors page), the URL carries its filters and window
(``?monitor=&agent=&version=&service=&from=&to=``, unix seconds), which replace the sidebar's.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError
from tracereel.dashboard import ui
from tracereel.dashboard.monitors import LINKED_FILTERS

st.title("Traces")
flt = ui.filters(with_version=False)
api = ui.client()

linked = {k: st.query_params[k] for k in LINKED_FILTERS if st.query_params.get(k)}
if linked:
    try:
        window = {"start": int(linked.pop("from", flt["start"])), "end": int(linked.pop("to", flt["end"]))}
    except ValueError:
        st.error("The link's from/to are not unix seconds.")
        st.stop()
    monitor = linked.pop("monitor", None)
    flt = {**window, **linked}
    shown = ", ".join(f"{k} {v}" for k, v in linked.items()) or "all agents"
    start, end = (pd.Timestamp(window[k], unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC") for k in ("start", "end"))
    lead = f"The traces behind monitor **{monitor}**" if monitor else "Traces"
    st.info(f"{lead}: {shown}, from {start} to {end}.", icon=":material/notifications:")
    if st.button("Show all traces", key="clear_link"):
        st.query_params.clear()
        st.rerun()

payload_search = st.text_input(
    "Search payloads",
    placeholder="words the inputs, outputs, messages or tool calls contain (every word, any case)",
    key="payload_search",
)
left, middle, right, last = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
search = left.text_input("Find", placeholder="trace id, agent, root span or version", key="search")
status = middle.selectbox("Status", ["any", "ok", "error", "unset"], key="status")
limit = right.selectbox("Show", [50, 200, 1000], index=1, key="limit")
# Replays and eval case runs are not the agents' traffic: listed (and marked) only when asked.
include_replays = last.checkbox("Replays and eval runs", key="include_replays")

try:
    rows = api.traces(
        limit=limit,
        status=None if status == "any" else status,
        include_replays="true" if include_replays else None,
        # A blank box is no search, not a refused one.
        q=payload_search if payload_search.strip() else None,
        **flt,
    )
except CollectorError as exc:
    ui.fail(exc)

if not rows and payload_search.strip():
    st.info(f"No traces in this window contain every word of {payload_search.strip()!r}.", icon=":material/search_off:")
    st.stop()
if not rows:
    st.info(
        "No traces in this window. Send some with the tracereel SDK or `tracereel demo`, or widen the window.",
        icon=":material/search_off:",
    )
    st.stop()

table = pd.DataFrame(
    {
        "started": pd.to_datetime([r["start_time"] for r in rows], utc=True),
        "trace id": [r["trace_id"] for r in rows],
        "root span": [r["root_name"] for r in rows],
        "agent": [r["agent_name"] for r in rows],
        "version": [r["agent_version"] for r in rows],
        # A run whose root never arrived (the process died) has no status of its own.
        "status": [r["status_code"] if r.get("complete", True) else "INCOMPLETE" for r in rows],
        "success": [r["task_success"] for r in rows],
        "duration (ms)": [round(r["duration_ms"], 1) for r in rows],
        "spans": [r["span_count"] for r in rows],
        "errors": [r["error_count"] for r in rows],
        "tokens": [r["input_tokens"] + r["output_tokens"] for r in rows],
        "cost (USD)": [r.get("cost_usd") for r in rows],
        "service": [r["service_name"] for r in rows],
        # Searching an original trace id finds its replays too.
        "replay of": [r.get("replay_of") or "" for r in rows],
        "eval run": [r.get("eval_run_id") or "" for r in rows],
    }
)
if not include_replays:
    table = table.drop(columns=["replay of", "eval run"])
if search.strip():
    needle = search.strip().lower()
    searched = [
        c for c in ("trace id", "root span", "agent", "version", "service", "replay of", "eval run") if c in table
    ]
    text = table[searched].astype(str).agg(" ".join, axis=1)
    table = table[text.str.lower().str.contains(needle, regex=False)].reset_index(drop=True)

st.caption(f"{len(table)} of {len(rows)} traces · newest first · select a row to open the trace")
selection = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="traces_table",
    column_config={
        "started": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm:ss"),
        "cost (USD)": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
        "success": st.column_config.CheckboxColumn("success"),
    },
)
picked = selection.selection.rows if selection is not None else []
if picked:
    st.switch_page("views/trace.py", query_params={"trace_id": table.iloc[picked[0]]["trace id"]})
