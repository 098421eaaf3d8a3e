"""Trace: one trace's timeline, its tree of agents → LLM calls → tools with payloads, signals, commands to reuse it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import streamlit as st

from tracereel import semconv as sc
from tracereel.client import CollectorError, NotFound
from tracereel.dashboard import charts, ui
from tracereel.dashboard.format import parse_json, short_ms
from tracereel.dashboard.scores import SCORE_COLUMNS, score_rows
from tracereel.rules import escalation_reason, flag, payload, task_agent, task_success, task_tokens
from tracereel.traces import SpanNode, build_tree, parse_trace_id, walk

# Material icons ship with Streamlit, so they render even where no emoji font is installed.
_ICONS = {
    "agent": ":material/smart_toy:",
    "llm": ":material/chat:",
    "tool": ":material/build:",
    "guardrail": ":material/shield:",
    "other": ":material/radio_button_unchecked:",
}
# Payloads longer than this are shown collapsed.
_LONG = 300

st.title("Trace")
api = ui.client()
given = st.query_params.get("trace_id", "")
# A trace id arriving in the URL (from the Traces page or a shared link) fills the box; what is typed
# in the box goes to the URL, so the page can be shared or reloaded.
if st.session_state.get("_trace_from_url") != given:
    st.session_state["_trace_from_url"] = given
    st.session_state["trace_id_input"] = given
trace_id = st.text_input("Trace id", key="trace_id_input", placeholder="32 hex digits, or pick one on the Traces page")
trace_id = trace_id.strip().lower()
if trace_id != given:
    st.query_params["trace_id"] = trace_id
    st.session_state["_trace_from_url"] = trace_id
if not trace_id:
    st.info("Enter a trace id, or open one from the **Traces** page.", icon=":material/search:")
    st.stop()
try:
    parse_trace_id(trace_id)
except ValueError:
    st.error(f"`{trace_id}` is not a trace id: a trace id is 32 hexadecimal digits.", icon=":material/warning:")
    st.stop()
try:
    trace = api.trace(trace_id)
except NotFound:
    st.warning(f"No trace with id `{trace_id}` in the store. It may not have arrived yet, or it was never sent.")
    st.stop()
except CollectorError as exc:
    ui.fail(exc)

spans: list[dict[str, Any]] = trace["spans"]
roots = build_tree(spans)
nodes = walk(roots)
root = roots[0].span


def _attr(span: dict[str, Any], key: str) -> str:
    return span["attributes"].get(key, "")


# --- Summary -------------------------------------------------------------------------
t0 = min(s["start_time_unix_nano"] for s in spans)
t1 = max(s["start_time_unix_nano"] + s["duration_ns"] for s in spans)
# The task's outcome, tokens and agent by the rules the metrics use (tracereel/rules.py).
said = flag(_attr(root, sc.TASK_SUCCESS))
if said is None:
    outcome = ":green[:material/check_circle: ok]" if task_success(root) else ":red[:material/cancel: error]"
else:
    outcome = ":green[:material/check_circle: succeeded]" if said else ":red[:material/cancel: failed]"
costs = [s["cost_usd"] for s in spans if s.get("cost_usd") is not None]
tokens = sum(task_tokens(spans))
agent, version = task_agent(spans)
st.markdown(
    f"### {root['name']}\n"
    f"{outcome} · agent **{agent or '—'}** {version} · service `{root['service_name']}` · "
    f"started {datetime.fromtimestamp(t0 / 1e9, tz=timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
)
cols = st.columns(5)
cols[0].metric("Duration", short_ms((t1 - t0) / 1e6))
cols[1].metric("Spans", len(spans))
cols[2].metric(
    "LLM / tool calls", f"{sum(s['kind'] == 'llm' for s in spans)} / {sum(s['kind'] == 'tool' for s in spans)}"
)
cols[3].metric("Tokens", f"{tokens:,}")
cols[4].metric("Cost", f"${sum(costs):,.4f}" if costs else "—")

replay_of = _attr(root, sc.REPLAY_OF)
if replay_of:
    st.info(
        f"This trace is a replay ({_attr(root, sc.REPLAY_MODE) or 'strict'} mode) of trace `{replay_of}`"
        + (f"; it diverged at `{_attr(root, sc.REPLAY_DIVERGED_AT)}`." if _attr(root, sc.REPLAY_DIVERGED_AT) else "."),
        icon=":material/replay:",
    )
    st.page_link("views/trace.py", label="Open the original trace", query_params={"trace_id": replay_of})

eval_run = _attr(root, sc.EVAL_RUN_ID)
if eval_run:
    case = _attr(root, sc.EVAL_CASE_ID)
    variant = _attr(root, sc.EVAL_VARIANT)
    st.info(
        f"This trace is the run of case `{case or '?'}`"
        + (f" (variant `{variant}`)" if variant else "")
        + f" in eval run `{eval_run}` of dataset `{_attr(root, sc.EVAL_DATASET) or '?'}`; "
        "it is not counted in the production metrics.",
        icon=":material/fact_check:",
    )
    st.page_link(
        "views/evals.py",
        label="Open the eval run",
        query_params={"dataset": _attr(root, sc.EVAL_DATASET), "run": eval_run},
    )

# --- Scores: every judgement of this trace (SDK, feedback, online rules, reviews, the API) ------------------
st.subheader("Scores")
scores = score_rows(trace.get("scores", []))
if scores:
    st.table({column.capitalize(): [row[column] for row in scores] for column in SCORE_COLUMNS})
else:
    st.caption("No scores yet: the SDK's tracereel.score(), user feedback, online rules, reviews or the API add them.")

st.markdown("**Replay this trace on your machine**")
st.code(f"tracereel replay {trace_id} --collector {api.base_url}", language="bash")
st.markdown("**Add it to a golden set** (a case with its input, its recorded output as expected, and this trace)")
st.code(f"tracereel dataset add golden.yaml {trace_id}", language="bash")

# --- Signals: plan, guardrails, escalations, errors -----------------------------------------
plans = [(n.span, parse_json(_attr(n.span, sc.PLAN_STEPS))) for n in nodes if _attr(n.span, sc.PLAN_STEPS)]
guardrails = [n.span for n in nodes if n.span["kind"] == "guardrail" or _attr(n.span, sc.GUARDRAIL_VERDICT)]
escalations = [(n.span, reason) for n in nodes if (reason := escalation_reason(n.span)) is not None]
errors = [n.span for n in nodes if n.span["status_code"] == "ERROR"]
left, right = st.columns(2)
with left:
    st.markdown("**Plan**")
    if not plans:
        st.caption("No plan recorded.")
    for span, steps in plans:
        owner = _attr(span, sc.AGENT_NAME) or span["name"]
        items = steps if isinstance(steps, list) else [steps]
        st.markdown(f"{owner}: " + " → ".join(f"`{s}`" for s in items))
    st.markdown("**Guardrails**")
    if not guardrails:
        st.caption("No guardrail checks.")
    for span in guardrails:
        verdict = _attr(span, sc.GUARDRAIL_VERDICT) or ("violation" if span["status_code"] == "ERROR" else "pass")
        reason = _attr(span, sc.GUARDRAIL_REASON)
        mark = (
            ":red[:material/gpp_bad: **violation**]"
            if verdict == sc.VERDICT_VIOLATION
            else ":green[:material/verified_user: pass]"
        )
        shown = f" — {reason}" if reason and verdict == sc.VERDICT_VIOLATION else ""
        st.markdown(f"{mark} · {_attr(span, sc.GUARDRAIL_NAME) or span['name']}{shown}")
with right:
    st.markdown("**Escalations**")
    if not escalations:
        st.caption("Not escalated to a human.")
    for span, reason in escalations:
        st.markdown(
            f":orange[:material/support_agent:] escalated to a human at `{span['name']}`"
            + (f": {reason}" if reason else "")
        )
    st.markdown("**Errors**")
    if not errors:
        st.caption("No span ended in error.")
    for span in errors:
        kind = _attr(span, sc.ERROR_TYPE) or span["status_message"] or "error"
        st.markdown(f":red[:material/error:] `{span['name']}`: {kind}")

# --- Timeline ----------------------------------------------------------------------------
st.plotly_chart(charts.waterfall(nodes))


# --- Tree with payloads -------------------------------------------------------------------
def _payload(label: str, value: str) -> None:
    """A payload: short ones inline, long ones collapsed."""
    if not value:
        return
    data = parse_json(value)
    if isinstance(data, dict | list):
        st.markdown(f"*{label}*")
        st.json(data, expanded=len(value) <= _LONG)
    elif len(value) > _LONG:
        st.markdown(f"*{label}* ({len(value):,} characters)")
        st.code(value, language=None, wrap_lines=True, height=160)
    else:
        st.markdown(f"*{label}*: {value}")


def _details(node: SpanNode) -> None:
    span = node.span
    kind = span["kind"]
    taken, given = payload(span)
    if kind == "agent":
        _payload("input", taken or "")
        _payload("output", given or "")
    elif kind == "llm":
        usage = f"{_attr(span, sc.USAGE_INPUT_TOKENS) or '?'} in / {_attr(span, sc.USAGE_OUTPUT_TOKENS) or '?'} out"
        cost = span.get("cost_usd")
        st.markdown(
            f"model `{_attr(span, sc.REQUEST_MODEL) or span.get('model') or '?'}` · tokens {usage} · "
            + (f"cost ${cost:.5f}" if cost is not None else "unpriced")
        )
        _payload("what the model saw", taken or "")
        _payload("what it answered", given or "")
    elif kind == "tool":
        _payload("arguments", taken or "")
        _payload("result", given or "")
    elif kind == "guardrail":
        _payload("verdict", _attr(span, sc.GUARDRAIL_VERDICT))
        _payload("reason", _attr(span, sc.GUARDRAIL_REASON))
    attempt = _attr(span, sc.RETRY_ATTEMPT)
    if attempt and attempt != "0":
        st.markdown(f"retry attempt {attempt}")
    if span["status_code"] == "ERROR":
        st.error(f"{_attr(span, sc.ERROR_TYPE) or 'error'}: {span['status_message']}")
    for event in span["events"]:
        if event["name"] == sc.EXCEPTION_EVENT:
            ev = event["attributes"]
            text = (
                ev.get("exception.stacktrace") or f"{ev.get('exception.type', '')}: {ev.get('exception.message', '')}"
            )
            st.code(text, language=None)
    st.markdown("*all attributes*")
    st.json(span["attributes"], expanded=False)


st.subheader("Steps")
st.caption("Agents → LLM calls → tools, in the order they started. Open a step to see its payloads.")
for i, node in enumerate(nodes, 1):
    span = node.span
    status = " · :red[ERROR]" if span["status_code"] == "ERROR" else ""
    indent = "\u2003" * node.depth + ("└ " if node.depth else "")
    icon = _ICONS.get(span["kind"], _ICONS["other"])
    label = f"{i}. {indent}{icon} {span['name']} · {short_ms(span['duration_ns'] / 1e6)}{status}"
    with st.expander(label, expanded=False):
        _details(node)
