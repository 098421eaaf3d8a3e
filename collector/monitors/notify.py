"""Notifications: the body each format sends, and one delivery attempt over HTTP.

Formats (``Monitor.format``):

* ``pagerduty``: the Events API v2 (``POST https://events.pagerduty.com/v2/enqueue``):
  ``{"routing_key", "event_action": "trigger", "dedup_key", "payload": {"summary", "source",
  "severity", "timestamp", "component", "custom_details"}, "client"}`` when a monitor fires, and
  ``{"routing_key", "event_action": "resolve", "dedup_key"}`` when it resolves. The dedup key
  names the incident, so PagerDuty itself also folds a repeated trigger into the open alert.
* ``slack``: an incoming webhook, ``{"text": ...}`` (Slack's mrkdwn).
* ``webhook``: plain JSON, ``{"monitor", "event": "firing"|"resolved", "dedup_key", "metric",
  "value", "condition", "threshold", "window_seconds", "tasks", "filters", "since", "time",
  "summary"}`` (docs/monitors.md).

An attempt answers "delivered" (2xx), "retry" (a connection error or timeout, 5xx, 429) or
"failed" (any other status: the request itself is wrong and sending it again will not help).
Which statuses are worth a retry, how long to back off and how to read Retry-After is urllib3's
``Retry`` policy (:func:`retry_policy`); the runner applies it attempt by attempt, so each attempt
is recorded and a backoff can be cut short. Error texts never hold the URL or the routing key,
which are secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, Literal

import requests
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from tracereel.collector.monitors.definitions import Action, Monitor, MonitorState
from tracereel.monitors import format_metric_value, format_window, is_eval_metric, mask_secret, mask_url
from tracereel.transport import network_reason

__all__ = ["MAX_BACKOFF", "DeliveryResult", "notification_body", "retry_policy", "send", "summary_text"]

MAX_BACKOFF: Final = 300.0  # seconds: the longest wait between attempts, Retry-After included
# What a receiver answers when it is busy or broken for now: worth sending again.
_RETRY_STATUSES: Final = frozenset({429, *range(500, 600)})
_MAX_ERROR: Final = 300

Outcome = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True)
class DeliveryResult:
    """How one attempt went: ``status_code`` 0 when no answer came; ``retry_after`` in seconds if the receiver said."""

    outcome: Outcome
    status_code: int = 0
    error: str = ""
    retry_after: float | None = None


def _scope_text(monitor: Monitor) -> str:
    parts: list[str] = []
    if monitor.dataset:
        parts.append(f"dataset {monitor.dataset}")
    if monitor.agent:
        parts.append(f"agent {monitor.agent}" + (f" {monitor.version}" if monitor.version else ""))
    if monitor.service:
        parts.append(f"service {monitor.service}")
    return ", ".join(parts) or "all agents"


def summary_text(monitor: Monitor, action: Action, state: MonitorState) -> str:
    """One line for people: what crossed which threshold, where, over which window."""
    value = format_metric_value(monitor.metric, state.value)
    threshold = format_metric_value(monitor.metric, monitor.threshold)
    if action == "trigger":
        head = f"firing: {monitor.metric} = {value}, {monitor.op} {threshold}"
    else:
        head = f"resolved: {monitor.metric} = {value}, no longer {monitor.op} {threshold}"
    count = "cases in the latest run" if is_eval_metric(monitor.metric) else "tasks"
    return (
        f"tracereel monitor {monitor.name} {head} over the last {format_window(monitor.window_seconds)} "
        f"({_scope_text(monitor)}; {state.tasks} {count})"
    )


def _filters(monitor: Monitor) -> dict[str, str | None]:
    return {
        "agent": monitor.agent or None,
        "version": monitor.version or None,
        "service": monitor.service or None,
        "dataset": monitor.dataset or None,
    }


def _facts(monitor: Monitor, state: MonitorState) -> dict[str, Any]:
    """What every structured body says: which monitor, its metric's value against which threshold."""
    return {
        "monitor": monitor.name,
        "metric": monitor.metric,
        "value": state.value,
        "condition": monitor.op,
        "threshold": monitor.threshold,
        "window_seconds": monitor.window_seconds,
        "tasks": state.tasks,
    }


def notification_body(monitor: Monitor, action: Action, state: MonitorState, now: datetime) -> dict[str, Any]:
    """The JSON body ``monitor``'s format sends for ``action``, from the monitor's ``state`` at ``now``."""
    summary = summary_text(monitor, action, state)
    if monitor.format == "pagerduty":
        if action == "resolve":
            return {"routing_key": monitor.routing_key, "event_action": "resolve", "dedup_key": state.dedup_key}
        return {
            "routing_key": monitor.routing_key,
            "event_action": "trigger",
            "dedup_key": state.dedup_key,
            "payload": {
                "summary": summary[:1024],
                "source": f"tracereel:{monitor.service or monitor.agent or monitor.dataset or 'all'}",
                "severity": "error",
                "timestamp": now.astimezone(timezone.utc).isoformat(),
                # Optional fields are left out rather than null.
                **({"component": monitor.agent} if monitor.agent else {}),
                "class": monitor.metric,
                "custom_details": {**_facts(monitor, state), **{k: v for k, v in _filters(monitor).items() if v}},
            },
            "client": "tracereel",
        }
    if monitor.format == "slack":
        icon = ":rotating_light:" if action == "trigger" else ":white_check_mark:"
        return {"text": f"{icon} {summary}"}
    return {
        **_facts(monitor, state),
        "event": "firing" if action == "trigger" else "resolved",
        "dedup_key": state.dedup_key,
        "filters": _filters(monitor),
        "since": state.since.astimezone(timezone.utc).isoformat(),
        "time": now.astimezone(timezone.utc).isoformat(),
        "summary": summary,
    }


def retry_policy(max_attempts: int, backoff: float) -> Retry:
    """At most ``max_attempts`` attempts, on 429 and 5xx, ``backoff`` seconds doubling (capped at 5 minutes)."""
    return Retry(
        total=max_attempts - 1,
        allowed_methods=None,  # every method, POST included: a notification is folded by its dedup key
        status_forcelist=_RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_max=MAX_BACKOFF,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _retry_after(policy: Retry, header: str | None) -> float | None:
    if not header:
        return None
    try:
        return min(policy.parse_retry_after(header.strip()), MAX_BACKOFF)
    except InvalidHeader:
        return None


def _clean(text: str, monitor: Monitor) -> str:
    """``text`` without the monitor's secrets, shortened."""
    cleaned = text.replace(monitor.notify_url, mask_url(monitor.notify_url))
    if monitor.routing_key:
        cleaned = cleaned.replace(monitor.routing_key, mask_secret(monitor.routing_key))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= _MAX_ERROR else cleaned[: _MAX_ERROR - 3] + "..."


def send(
    http: requests.Session, policy: Retry, monitor: Monitor, body: dict[str, Any], timeout: float
) -> DeliveryResult:
    """POST ``body`` to ``monitor``'s URL once; ``policy`` says which answers are worth a retry. Never raises."""
    try:
        response = http.post(monitor.notify_url, json=body, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return DeliveryResult("retry", error="no answer before the timeout")
    except requests.RequestException as exc:
        return DeliveryResult("retry", error=_clean(f"{type(exc).__name__}: {network_reason(exc)}", monitor))
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult("delivered", status)
    # The receiver's own explanation (PagerDuty names the bad field); the status is recorded beside it.
    detail = _clean(response.text, monitor)
    header = response.headers.get("retry-after")
    if policy.is_retry("POST", status, has_retry_after=bool(header)):
        return DeliveryResult("retry", status, detail, _retry_after(policy, header))
    return DeliveryResult("failed", status, detail)
