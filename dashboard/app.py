"""The tracereel dashboard (``tracereel dashboard`` runs ``streamlit run`` on this file).

Pages: Overview (metric tiles, trends, breakdowns), Traces (searchable table), Trace (waterfall,
tree, payloads, replay command), Compare (two agent versions side by side), Evaluations (eval
runs per dataset over time, a run's cases, tags, two runs side by side), Failures (failing tasks
in clusters, ranked by size and trend, with examples and the command that makes golden cases), Monitors
(each monitor's state and history, linked to the traces behind a firing one), Kill switches (the
agents stopped now; an admin kills and revives them) and Review (a review queue's traces, one at
a time, for a pass/fail verdict). Everything comes from the collector's
HTTP API; the dashboard never opens the store. It sends the key from TRACEREEL_API_KEY or the
sidebar's sign-in box, and shows what the collector lets that key see.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from tracereel.dashboard import ui

_PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="tracereel", page_icon=":material/movie:", layout="wide")
navigation = st.navigation(
    [
        st.Page(
            _PAGES / "overview.py", title="Overview", icon=":material/monitoring:", url_path="overview", default=True
        ),
        st.Page(_PAGES / "traces.py", title="Traces", icon=":material/list_alt:", url_path="traces"),
        st.Page(_PAGES / "trace.py", title="Trace", icon=":material/account_tree:", url_path="trace"),
        st.Page(_PAGES / "compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
        st.Page(_PAGES / "evals.py", title="Evaluations", icon=":material/fact_check:", url_path="evals"),
        st.Page(_PAGES / "failures.py", title="Failures", icon=":material/bug_report:", url_path="failures"),
        st.Page(_PAGES / "monitors.py", title="Monitors", icon=":material/notifications:", url_path="monitors"),
        st.Page(_PAGES / "switches.py", title="Kill switches", icon=":material/block:", url_path="switches"),
        st.Page(_PAGES / "review.py", title="Review", icon=":material/rate_review:", url_path="review"),
    ]
)
# Above every page's own sidebar: the key this session reads with (docs/security.md).
ui.sign_in()
navigation.run()
