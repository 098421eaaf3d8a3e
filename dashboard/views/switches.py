"""Kill switches: the agents stopped now, why, by whom and since when; an admin kills and revives them here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracereel.client import CollectorError
from tracereel.contracts.switches import Switch
from tracereel.dashboard import ui

st.title("Kill switches")
st.caption(
    "A killed agent's calls raise `tracereel.AgentDisabled` (or return its `fallback=`) without running, in "
    "every process that uses the tracereel SDK, within about a second. Flipping a switch needs an admin key."
)
api = ui.client()
_EVERY = "every"


def _describe(switch: Switch) -> str:
    out = switch.agent + (f"@{switch.version}" if switch.version else "")
    out += f" on {switch.service}" if switch.service else ""
    return out + (f" (team {switch.team})" if switch.team else "")


def _refused(exc: CollectorError) -> None:
    """A flip the collector refused, as one message; 403 says what key is needed."""
    if exc.status == 403:
        st.error(
            f"**Not allowed.** {exc}. Only an admin key can kill or revive agents: start the dashboard "
            "with an admin key in TRACEREEL_API_KEY.",
            icon=":material/lock:",
        )
    else:
        st.error(str(exc), icon=":material/warning:")


flash = st.session_state.pop("switches_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

try:
    switches = api.switches().switches
except CollectorError as exc:
    ui.fail(exc)

if switches:
    st.caption(f"{len(switches)} switch{'es' if len(switches) != 1 else ''} in force")
    st.dataframe(
        pd.DataFrame(
            {
                "agent": [s.agent for s in switches],
                "version": [s.version or _EVERY for s in switches],
                "service": [s.service or _EVERY for s in switches],
                "team": [s.team or _EVERY for s in switches],
                "reason": [s.reason for s in switches],
                "killed at": pd.to_datetime([s.changed_at for s in switches], utc=True),
                "by key": [s.key_id or "the collector's key" for s in switches],
            }
        ),
        hide_index=True,
        key="switches_table",
        column_config={"killed at": st.column_config.DatetimeColumn("killed at", format="YYYY-MM-DD HH:mm:ss")},
    )
else:
    st.info("No agent is killed: every agent runs.", icon=":material/play_circle:")

left, right = st.columns(2)
with left, st.form("kill_form", clear_on_submit=True):
    st.subheader("Kill an agent")
    agent = st.text_input("Agent", placeholder="the @agent name, e.g. refunds", key="kill_agent")
    version = st.text_input("Version", placeholder="empty: every version", key="kill_version")
    service = st.text_input("Service", placeholder="empty: every service", key="kill_service")
    team = st.text_input("Team", placeholder="empty: every team", key="kill_team")
    reason = st.text_input("Reason", placeholder="shown to callers and in the audit log", key="kill_reason")
    if st.form_submit_button("Kill", type="primary", icon=":material/block:"):
        if not agent.strip() or not reason.strip():
            st.error("Name the agent and give a reason.", icon=":material/warning:")
        else:
            try:
                killed = api.kill(
                    agent.strip(), reason=reason, version=version.strip(), service=service.strip(), team=team.strip()
                )
            except CollectorError as exc:
                _refused(exc)
            else:
                st.session_state["switches_flash"] = f"Killed {_describe(killed)}: {killed.reason}"
                st.rerun()

with right:
    st.subheader("Revive an agent")
    if not switches:
        st.caption("Nothing to revive.")
    else:
        labels = [_describe(s) for s in switches]
        picked = st.selectbox("Switch", labels, key="revive_switch")
        if st.button("Revive", icon=":material/play_arrow:", key="revive_button"):
            switch = switches[labels.index(picked)]
            try:
                api.revive(switch.agent, version=switch.version, service=switch.service, team=switch.team)
            except CollectorError as exc:
                _refused(exc)
            else:
                st.session_state["switches_flash"] = f"Revived {picked}"
                st.rerun()
