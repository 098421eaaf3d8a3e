"""Review: work a review queue, one trace at a time: what it was asked and answered, its steps, scores and
feedback, then a pass/fail verdict with the expected answer and a note, and on to the next."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError, NotFound
from tracereel.dashboard import ui
from tracereel.dashboard.review import expected_text, parse_expected, score_rows, span_rows, task_summary

st.title("Review")
api = ui.client()
with st.sidebar:
    st.caption(f"Collector: `{api.base_url}`")
try:
    queues = api.review_queues()
except CollectorError as exc:
    ui.fail(exc)
if not queues:
    st.info(
        "No review queues yet. Add one with `tracereel review add-queue triage --when "
        "'feedback < 0 or score.groundedness < 0.5'` (docs/review.md).",
        icon=":material/rate_review:",
    )
    st.stop()

names = [q.name for q in queues]
name = st.selectbox("Queue", names, key="review_queue")
queue = next(q for q in queues if q.name == name)
st.caption(f"Traces where `{queue.when}`, newest first.")
try:
    open_items = api.review_items(name, state="open", limit=1000)
    done_items = api.review_items(name, state="done", limit=1000)
except CollectorError as exc:
    ui.fail(exc)
cols = st.columns(2)
cols[0].metric("Open", len(open_items))
cols[1].metric("Reviewed", len(done_items))
done_message = st.session_state.pop("_review_done", None)
if done_message:
    st.success(done_message, icon=":material/check:")
if not open_items:
    st.success(f"Nothing left to review in {name}.", icon=":material/done_all:")
    st.stop()

item = open_items[0]
st.subheader(f"Trace {item.trace_id}")
st.markdown(f"In the queue because **{item.reason}** · ran {item.time}")
st.page_link("views/trace.py", label="Open the whole trace", query_params={"trace_id": item.trace_id})
try:
    trace = api.trace(item.trace_id)
except NotFound:
    st.warning(f"Trace `{item.trace_id}` is no longer in the store.")
    st.stop()
except CollectorError as exc:
    ui.fail(exc)
summary = task_summary(trace["spans"])
st.markdown(f"Agent **{summary['agent']}** · outcome **{summary['outcome']}**")
for reason in summary["escalations"]:
    st.warning(f"Escalated to a human: {reason or '(no reason given)'}", icon=":material/support_agent:")
for column, label in zip(st.columns(2), ("input", "output"), strict=True):
    with column:
        st.markdown(f"**{label.capitalize()}**")
        value = summary[label]
        if isinstance(value, dict | list):
            st.json(value)
        else:
            st.code("(not recorded)" if value is None else str(value), language=None)

st.markdown("**Scores and feedback**")
scores = score_rows(trace.get("scores") or [])
if scores:
    st.dataframe(pd.DataFrame(scores), hide_index=True, key="review_scores")
else:
    st.caption("No scores or feedback on this trace.")
with st.expander(f"Steps ({len(trace['spans'])} spans)"):
    st.dataframe(pd.DataFrame(span_rows(trace["spans"])), hide_index=True, key="review_spans")

with st.form(f"verdict-{item.trace_id}"):
    verdict = st.radio("Verdict", ["pass", "fail"], horizontal=True, key=f"review_verdict_{item.trace_id}")
    expected = st.text_area(
        "Expected answer (JSON, or plain text)",
        value=expected_text(summary["output"]),
        key=f"review_expected_{item.trace_id}",
        help="What the agent should have answered; `tracereel dataset add-reviewed` makes it the case's expected.",
    )
    note = st.text_area("Note", key=f"review_note_{item.trace_id}")
    if st.form_submit_button("Submit verdict", icon=":material/gavel:"):
        try:
            api.review(name, item.trace_id, verdict, expected=parse_expected(expected), note=note.strip() or None)
        except CollectorError as exc:
            ui.fail(exc)
        st.session_state["_review_done"] = f"Marked {item.trace_id} as {verdict}."
        st.rerun()
