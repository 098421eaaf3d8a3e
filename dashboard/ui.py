"""Streamlit pieces every page shares: the collector client, the filter sidebar, errors shown as messages."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Final, NoReturn

import streamlit as st

from tracereel.client import CollectorClient, CollectorError, CollectorUnavailable, Unauthorized
from tracereel.sdk.settings import api_key, collector_endpoint

__all__ = ["WINDOWS", "client", "fail", "filters", "sign_in", "window_bounds"]

# Time windows offered everywhere, in seconds.
WINDOWS: Final = {
    "Last hour": 3600,
    "Last 6 hours": 6 * 3600,
    "Last 24 hours": 24 * 3600,
    "Last 7 days": 7 * 86400,
    "Last 30 days": 30 * 86400,
}
_ALL = "(all)"
# The key typed into the sign-in box, kept for this browser session only (never in a URL or a file).
_SESSION_KEY = "_tracereel_api_key"


def _key() -> str | None:
    """The session's key: the one signed in with, else TRACEREEL_API_KEY, else none."""
    return st.session_state.get(_SESSION_KEY) or api_key()


def client() -> CollectorClient:
    """The client for this session's collector and key (one per session, so each browser tab has its own)."""
    url = collector_endpoint()
    key = _key()
    current = st.session_state.get("_tracereel_client")
    if current is None or current.base_url != url or st.session_state.get("_tracereel_client_key") != key:
        current = CollectorClient(url, api_key=key)
        st.session_state["_tracereel_client"] = current
        st.session_state["_tracereel_client_key"] = key
    return current


def sign_in() -> None:
    """The sidebar's sign-in box: a key typed here replaces TRACEREEL_API_KEY for this session.

    The collector decides what the key may see; the dashboard only sends it.
    """
    with st.sidebar:
        signed_in = bool(st.session_state.get(_SESSION_KEY))
        with st.form("sign-in", clear_on_submit=True, border=False):
            entered = st.text_input(
                "API key", type="password", key="api_key", placeholder="tr_trk_...", help="Sent to the collector only"
            )
            if st.form_submit_button("Sign in", icon=":material/key:") and entered.strip():
                st.session_state[_SESSION_KEY] = entered.strip()
                signed_in = True
        if signed_in:
            st.caption("Signed in with the key entered here.")
            if st.button("Sign out", key="sign_out"):
                del st.session_state[_SESSION_KEY]
                st.rerun()
        elif api_key():
            st.caption("Using the key in TRACEREEL_API_KEY.")


def fail(exc: CollectorError) -> NoReturn:
    """Show a collector problem as one clear message and stop the page (never a traceback)."""
    if isinstance(exc, CollectorUnavailable):
        st.error(f"**Collector unavailable.** {exc}", icon=":material/power_off:")
    elif isinstance(exc, Unauthorized):
        tried = "The key you signed in with" if st.session_state.get(_SESSION_KEY) else None
        tried = tried or ("TRACEREEL_API_KEY" if api_key() else None)
        what = f"{tried} was refused (wrong or revoked)." if tried else "This collector needs an API key."
        st.warning(f"**Sign in.** {what} Enter a key in the sign-in box in the sidebar.", icon=":material/lock:")
    elif exc.status == 403:
        st.warning(f"**Not allowed with this key.** {exc}", icon=":material/block:")
    else:
        st.error(str(exc), icon=":material/warning:")
    st.stop()


def window_bounds(label: str) -> tuple[int, int]:
    """(from, to) in unix seconds for a window label, ending at the next whole minute (stable across reruns)."""
    end = (int(time.time()) // 60 + 1) * 60
    return end - WINDOWS[label], end


@st.cache_data(ttl=60, show_spinner=False)
def _filter_options(
    url: str, key_digest: str, start: int, end: int, _api: CollectorClient
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # The agents, versions and services of a window change slowly; a minute-old list is fine and
    # saves two metric queries on every rerun. Errors are not cached, so a collector coming back is seen.
    # The cache is shared by every session: it is keyed by the key's digest too, so one key's
    # lists are never shown to another (``_api`` itself is not part of the cache key).
    agents = _api.breakdown("agent", start=start, end=end).rows
    services = _api.breakdown("service", start=start, end=end).rows
    return [row.model_dump() for row in agents], [row.model_dump() for row in services]


def filters(*, with_version: bool = True, default_window: str = "Last 24 hours") -> dict[str, Any]:
    """The sidebar filters (window, service, agent, version); returns keyword filters for the client."""
    api = client()
    with st.sidebar:
        st.caption(f"Collector: `{api.base_url}`")
        label = st.selectbox("Time window", list(WINDOWS), index=list(WINDOWS).index(default_window), key="window")
        start, end = window_bounds(label)
        try:
            digest = hashlib.sha256((_key() or "").encode()).hexdigest()
            agents, services = _filter_options(api.base_url, digest, start, end, api)
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
