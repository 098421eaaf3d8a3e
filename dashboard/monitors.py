"""The Monitors page's rows and links, without Streamlit (easy to test): states, values, the traces behind a monitor."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tracereel.monitors import condition_text, format_metric_value, format_window, is_eval_metric

__all__ = ["LINKED_FILTERS", "STATE_LABELS", "history_rows", "link_target", "monitor_rows", "traces_link"]

# Words, not coloured emoji: they read the same in every browser and font.
STATE_LABELS = {"firing": "FIRING", "ok": "ok", "insufficient": "insufficient data"}
# The query parameters the Traces page takes from a monitor's link.
LINKED_FILTERS = ("agent", "version", "service", "from", "to", "monitor")


def link_target(monitor: dict[str, Any], now: int) -> tuple[str, dict[str, str]]:
    """The page (``traces`` or ``evals``) and query parameters that show what is behind ``monitor``.

    Trace metrics: the Traces page filtered as the monitor is, over its window ending ``now``
    (unix seconds). Eval metrics: the monitor's dataset on the Evaluations page.
    """
    if is_eval_metric(monitor["metric"]):
        return "evals", {"dataset": monitor["dataset"]}
    params = {
        "monitor": monitor["name"],
        **{k: str(monitor[k]) for k in ("agent", "version", "service") if monitor.get(k)},
        "from": str(now - int(monitor["window_seconds"])),
        "to": str(now),
    }
    return "traces", params


def traces_link(monitor: dict[str, Any], now: int) -> str:
    """:func:`link_target` as a relative URL, e.g. ``traces?monitor=...&agent=...&from=...&to=...``."""
    page, params = link_target(monitor, now)
    return f"{page}?{urlencode(params)}"


def _filters(monitor: dict[str, Any]) -> str:
    parts = [f"{k}={monitor[k]}" for k in ("agent", "version", "service", "dataset") if monitor.get(k)]
    return ", ".join(parts) or "all agents"


def monitor_rows(monitors: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
    """One row per monitor: state, value against threshold, filters, and for a firing one the link to its traces."""
    rows = []
    for m in monitors:
        status = m.get("status") or {}
        state = status.get("state")
        rows.append(
            {
                "monitor": m["name"],
                "state": STATE_LABELS.get(state or "", "not evaluated yet"),
                "value": format_metric_value(m["metric"], status.get("value")) if status else "",
                "fires when": condition_text(m["metric"], m["condition"], m["threshold"]),
                "window": format_window(int(m["window_seconds"])),
                "filters": _filters(m),
                "tasks": status.get("tasks"),
                "min tasks": m["min_tasks"],
                "since": status.get("since"),
                "notifies": f"{m['format']} {m['notify']}",
                "traces": traces_link(m, now) if state == "firing" else None,
            }
        )
    return rows


def history_rows(monitor: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A monitor's history for a table: a change of state or a delivery attempt per row, newest first."""
    rows = []
    for e in history:
        if e["kind"] == "state":
            what = f"{STATE_LABELS.get(e['state'], e['state'])}: {format_metric_value(monitor['metric'], e['value'])}"
            detail = f"{e['tasks']} tasks"
        else:
            what = f"{e['action']} {e['outcome']}"
            status = f"HTTP {e['status_code']}" if e.get("status_code") else ""
            detail = " ".join(
                p for p in (f"attempt {e['attempt']}" if e["attempt"] else "", status, e.get("error") or "") if p
            )
        rows.append({"time": e["time"], "event": e["kind"], "what": what, "detail": detail})
    return rows
