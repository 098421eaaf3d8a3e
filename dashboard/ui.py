"""Streamlit pieces every page shares: the collector client, the filter sidebar, errors shown as messages."""

from __future__ import annotations

import time
from typing import Any, Final, NoReturn

import streamlit as st

from tracereel.client import CollectorClient, CollectorError, CollectorUnavailable
from tracereel.sdk.settings import collector_endpoint

__all__ = ["WINDOWS", "client", "fail", "filters", "window_bounds"]

# Time windows offered everywhere, in seconds.
WINDOWS: Final = {
    "Last hour": 3600,
    "Last 6 hours": 6 * 3600,
    "Last 24 hours": 24 * 3600,
    "Last 7 days": 7 * 86400,
    "Last 30 days": 30 * 86400,
}
_ALL = "(all)"


def client() -> CollectorClient:
    """The client for this session's collector (one per session, so each browser tab has its own)."""
    url = collector_endpoint()
    current = st.session_state.get("_tracereel_client")
    if current is None or current.base_url != url:
        current = CollectorClient(url)
        st.session_state["_tracereel_client"] = current
    return current


def fail(exc: CollectorError) -> NoReturn:
    """Show a collector problem as one clear message and stop the page (never a traceback)."""
    if isinstance(exc, CollectorUnavailable):
        st.error(f"**Collector unavailable.** {exc}", icon=":material/power_off:")
    else:
        st.error(str(exc), icon=":material/warning:")
    st.stop()


def window_bounds(label: str) -> tuple[int, int]:
    """(from, to) in unix seconds for a window label, ending at the next whole minute (stable across reruns)."""
    end = (int(time.time()) // 60 + 1) * 60
    return end - WINDOWS[label], end


@st.cache_data(ttl=60, show_spinner=False)
def _filter_options(url: str, start: int, end: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # The agents, versions and services of a window change slowly; a minute-old list is fine and
    # saves two metric queries on every rerun. Errors are not cached, so a collector coming back is seen.
    api = CollectorClient(url)
    return api.breakdown("agent", start=start, end=end), api.breakdown("service", start=start, end=end)


def filters(*, with_version: bool = True, default_window: str = "Last 24 hours") -> dict[str, Any]:
    """The sidebar filters (window, service, agent, version); returns keyword filters for the client."""
    api = client()
    with st.sidebar:
        st.caption(f"Collector: `{api.base_url}`")
        label = st.selectbox("Time window", list(WINDOWS), index=list(WINDOWS).index(default_window), key="window")
        start, end = window_bounds(label)
        try:
            agents, services = _filter_options(api.base_url, start, end)
        except CollectorError as exc:
            fail(exc)
        service = st.selectbox("Service", [_ALL, *sorted({r["service"] for r in services})], key="service")
        agent = st.selectbox("Agent", [_ALL, *sorted({r["agent"] for r in agents if r["agent"]})], key="agent")
        version = _ALL
        if with_version:
            versions = sorted({r["version"] for r in agents if (agent == _ALL or r["agent"] == agent) and r["version"]})
            version = st.selectbox("Version", [_ALL, *versions], key="version")
    out: dict[str, Any] = {"start": start, "end": end}
    for key, value in (("service", service), ("agent", agent), ("version", version)):
        if value != _ALL:
            out[key] = value
    return out
