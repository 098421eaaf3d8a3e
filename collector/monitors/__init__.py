"""Monitors: thresholds on the agent metrics (and eval scores), evaluated by the collector, that notify.

Definitions and their checks (``definitions``), the store's monitor tables (``repository``), a
monitor's value through the metrics engine (``evaluate``), notification bodies and delivery
(``notify``), and the runner the app's lifespan starts (``runner``). Imports query and store;
the API and the app import it.
"""

from tracereel.collector.monitors.definitions import (
    ACTIONS,
    STATES,
    Action,
    Monitor,
    MonitorExists,
    MonitorState,
    Op,
    State,
    monitor_from,
)
from tracereel.collector.monitors.evaluate import Reading, read_metric
from tracereel.collector.monitors.notify import DeliveryResult, notification_body, send, summary_text
from tracereel.collector.monitors.repository import (
    HistoryEntry,
    add_history,
    add_monitor,
    find_monitor,
    list_history,
    list_monitors,
    load_states,
    remove_monitor,
    save_states,
    stamp,
)
from tracereel.collector.monitors.runner import MonitorRunner, judge

__all__ = [
    "ACTIONS",
    "STATES",
    "Action",
    "DeliveryResult",
    "HistoryEntry",
    "Monitor",
    "MonitorExists",
    "MonitorRunner",
    "MonitorState",
    "Op",
    "Reading",
    "State",
    "add_history",
    "add_monitor",
    "find_monitor",
    "judge",
    "list_history",
    "list_monitors",
    "load_states",
    "monitor_from",
    "notification_body",
    "read_metric",
    "remove_monitor",
    "save_states",
    "send",
    "stamp",
    "summary_text",
]
