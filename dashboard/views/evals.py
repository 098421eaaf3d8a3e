"""Evaluations: stored eval runs per dataset over time, one run's cases, its tag breakdown, two runs side by side."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError, NotFound
from tracereel.contracts.evals import CaseCounts
from tracereel.dashboard import charts, ui
from tracereel.dashboard.evalruns import case_rows, older_newer, side_by_side, tag_breakdown

st.title("Evaluations")
api = ui.client()
with st.sidebar:
    st.caption(f"Collector: `{api.base_url}`")
try:
    runs = api.eval_runs(limit=1000)
except CollectorError as exc:
    ui.fail(exc)
if not runs:
    st.info(
        "No eval runs stored yet: run a golden set with `tracereel eval golden.yaml` and its report shows here.",
        icon=":material/fact_check:",
    )
    st.stop()


def _pick(label: str, options: list[str], key: str, param: str, default: str, **kwargs: Any) -> str:
    """A selectbox whose choice follows ``?param=`` in the URL (so a run can be linked), and goes there."""
    wanted = st.query_params.get(param, "")
    if st.session_state.get(f"_{key}_from_url") != wanted:
        st.session_state[f"_{key}_from_url"] = wanted
        st.session_state[key] = wanted if wanted in options else default
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    chosen = st.selectbox(label, options, key=key, **kwargs)
    if st.query_params.get(param) != chosen:
        st.query_params[param] = chosen
        st.session_state[f"_{key}_from_url"] = chosen
    return chosen


# --- History of a dataset -------------------------------------------------------------------
datasets = list(dict.fromkeys(r.dataset for r in runs))  # the most recently run first
dataset = _pick("Dataset", datasets, "eval_dataset", "dataset", datasets[0])
mine = [r for r in runs if r.dataset == dataset]  # newest first: the collector's run order
newest = mine[0]
cols = st.columns(4)
cols[0].metric("Runs", len(mine))
cols[1].metric(
    "Latest pass rate",
    f"{newest.pass_rate * 100:.1f}%",
    delta=f"{(newest.pass_rate - mine[1].pass_rate) * 100:+.1f} pts" if len(mine) > 1 else None,
)
cols[2].metric("Latest gate", "passed" if newest.gate_passed else "failed")
cols[3].metric(
    "Cases in the latest run",
    newest.case_count,
    help=f"{newest.skipped_count} skipped (not in the pass rate)" if newest.skipped_count else None,
)
st.plotly_chart(charts.eval_history(mine[::-1], f"{dataset}: pass rate and mean scores per run"))

history = pd.DataFrame(
    {
        "started": pd.to_datetime([r.started_at for r in mine], utc=True, format="ISO8601"),
        "run id": [r.run_id for r in mine],
        "pass rate": [r.pass_rate * 100 for r in mine],
        "passed": [f"{r.passed_count}/{r.case_count - r.skipped_count}" for r in mine],
        "skipped": [r.skipped_count for r in mine],
        "gate": ["passed" if r.gate_passed else "failed" for r in mine],
        "regressions": [len(r.regressions) for r in mine],
        "agent": [r.agent or "" for r in mine],
    }
)
st.dataframe(
    history,
    hide_index=True,
    column_config={
        "started": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm:ss"),
        "pass rate": st.column_config.ProgressColumn("pass rate", format="%.1f%%", min_value=0, max_value=100),
    },
)

# --- One run --------------------------------------------------------------------------------
st.subheader("A run's cases")
run_ids = [r.run_id for r in mine]
labels = {r.run_id: f"{r.run_id} · {r.started_at[:19].replace('T', ' ')} · {r.pass_rate:.0%}" for r in mine}
run_id = _pick("Run", run_ids, "eval_run", "run", run_ids[0], format_func=labels.__getitem__)
try:
    report = api.eval_run(run_id)
except NotFound:
    st.warning(f"Eval run `{run_id}` is no longer in the store.")
    st.stop()
except CollectorError as exc:
    ui.fail(exc)
counts = report.counts or CaseCounts.of(report.cases)
skipped = f", **{counts.skipped} skipped** (not in the pass rate)" if counts.skipped else ""
st.markdown(
    f"Run `{run_id}` of **{dataset}** · agent `{report.agent or '—'}` · "
    f"**{counts.passed} passed**, **{counts.failed} failed**{skipped} · gate "
    + (":green[passed]" if report.gate.passed else ":red[failed]: " + "; ".join(report.gate.reasons))
)
if report.regressions:
    st.error(
        f"Regressions against baseline `{report.baseline.run_id if report.baseline else '?'}`: "
        + ", ".join(f"`{c}`" for c in report.regressions),
        icon=":material/trending_down:",
    )
rows = pd.DataFrame(case_rows(report))
st.dataframe(
    rows,
    hide_index=True,
    key="eval_cases",
    column_config={
        "passed": st.column_config.CheckboxColumn("passed"),
        "trace": st.column_config.LinkColumn("trace", display_text="open trace", help="The case run's trace"),
    },
)

# --- Tags -----------------------------------------------------------------------------------
st.subheader("Pass rate by tag")
breakdown = tag_breakdown(report.cases)
if not breakdown:
    st.caption("No case of this run has tags (`tags: {topic: ..., style: ..., persona: ...}` in the golden set).")
else:
    st.plotly_chart(charts.tag_pass_rates(breakdown, "Pass rate by topic, style and persona"))
    st.dataframe(
        pd.DataFrame(breakdown),
        hide_index=True,
        key="eval_tags",
        column_config={"pass rate": st.column_config.NumberColumn("pass rate", format="percent")},
    )

# --- Side by side -----------------------------------------------------------------------------
st.subheader("Two runs side by side")
others = [r for r in run_ids if r != run_id]
if not others:
    st.caption("This dataset has one run: run it again to compare.")
    st.stop()
baseline_id = report.baseline.run_id if report.baseline else None
older = run_ids[run_ids.index(run_id) + 1 :]
default = baseline_id if baseline_id in others else (older[0] if older else others[0])
other_id = _pick("Compare with", others, "eval_other", "other", default, format_func=labels.__getitem__)
try:
    other = api.eval_run(other_id)
except NotFound:
    st.warning(f"Eval run `{other_id}` is no longer in the store.")
    st.stop()
except CollectorError as exc:
    ui.fail(exc)
# Older -> newer by run order, whichever of the two was picked first.
before, after = older_newer(report, other, run_ids)
pairs = side_by_side(before, after)
regressions = sum(p["change"] == "regression" for p in pairs)
fixes = sum(p["change"] == "fix" for p in pairs)
st.markdown(
    f"From `{before.run_id}` ({before.pass_rate:.0%}) to `{after.run_id}` ({after.pass_rate:.0%}): "
    f"**{regressions} regressions**, **{fixes} fixes**."
)
_COLOURS = {"regression": "background-color: #fbd5d5", "fix": "background-color: #d4f4dd"}


def _highlight(row: pd.Series) -> list[str]:
    return [_COLOURS.get(str(row["change"]), "")] * len(row)


st.dataframe(
    pd.DataFrame(pairs).style.apply(_highlight, axis=1).format(precision=3, na_rep=""),
    hide_index=True,
    key="eval_side_by_side",
    column_config={
        "before": st.column_config.TextColumn(f"before ({before.run_id})"),
        "after": st.column_config.TextColumn(f"after ({after.run_id})"),
    },
)
