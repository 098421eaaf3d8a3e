"""What the CLI and the collector agree on about monitors: metric names, formats, windows, masking.

A monitor watches one metric over a sliding window and notifies a URL when it crosses a
threshold (DESIGN.md "Gates and monitors"). The metric is a key of the metrics API
(:data:`tracereel.catalog.METRIC_KEYS`), a score's mean over the window's tasks (``score.NAME``,
the metrics answer's ``scores[NAME]["mean"]``), or an eval score of a dataset's runs:
``eval.pass_rate`` or ``eval.score.<scorer>``. Standard library only: the CLI checks a
definition before sending it, and the collector checks it again before storing it.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from tracereel.catalog import METRIC_KEYS, SCORE_METRIC_PREFIX, format_value, metric_info
from tracereel.durations import whole_seconds
from tracereel.traces import check_score_name

__all__ = [
    "EVAL_PASS_RATE",
    "EVAL_SCORE_PREFIX",
    "FORMATS",
    "NAME_PATTERN",
    "Format",
    "accepted_metrics",
    "condition_text",
    "format_metric_value",
    "format_window",
    "infer_format",
    "is_eval_metric",
    "mask_secret",
    "mask_url",
    "metric_problem",
    "parse_window",
]

Format = Literal["pagerduty", "slack", "webhook"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

# The pass rate (0..1) of a dataset's latest eval run in the window, and a scorer's mean score in it.
EVAL_PASS_RATE: Final = "eval.pass_rate"
EVAL_SCORE_PREFIX: Final = "eval.score."

# Safe in a URL path segment and a PagerDuty dedup key as it is.
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_MAX_WINDOW: Final = 30 * 86400


def is_eval_metric(metric: str) -> bool:
    """Whether ``metric`` is read from eval runs (and so needs a dataset) rather than from traces."""
    return metric == EVAL_PASS_RATE or metric.startswith(EVAL_SCORE_PREFIX)


def accepted_metrics() -> str:
    """The metric names a monitor accepts, for messages."""
    return f"{', '.join(METRIC_KEYS)}, {SCORE_METRIC_PREFIX}<name>, {EVAL_PASS_RATE}, {EVAL_SCORE_PREFIX}<scorer>"


def metric_problem(metric: str, dataset: str | None) -> str | None:
    """What is wrong with monitoring ``metric`` (with ``dataset`` for eval metrics); None if nothing."""
    if metric in METRIC_KEYS:
        if dataset:
            return f"--dataset is only for eval metrics ({EVAL_PASS_RATE}, {EVAL_SCORE_PREFIX}<scorer>), not {metric}"
        return None
    if metric.startswith(SCORE_METRIC_PREFIX):
        try:
            check_score_name(metric[len(SCORE_METRIC_PREFIX) :])
        except ValueError as exc:
            return f"metric {metric!r}: {exc}"
        if dataset:
            return f"--dataset is only for eval metrics ({EVAL_PASS_RATE}, {EVAL_SCORE_PREFIX}<scorer>), not {metric}"
        return None
    if is_eval_metric(metric):
        if metric.startswith(EVAL_SCORE_PREFIX) and not metric[len(EVAL_SCORE_PREFIX) :].strip():
            return f"metric {metric!r} names no scorer: use {EVAL_SCORE_PREFIX}<scorer>, e.g. {EVAL_SCORE_PREFIX}exact"
        if not dataset:
            return f"metric {metric} is read from eval runs: give the golden set's name with --dataset"
        return None
    return f"unknown metric {metric!r}; expected one of {accepted_metrics()}"


def parse_window(text: str | int) -> int:
    """A window in seconds from ``90``, ``90s``, ``30m``, ``1h`` or ``7d`` (at most 30 days); ValueError if not."""
    seconds = whole_seconds(text)
    if seconds is None:
        raise ValueError(f"window {text!r} is not a duration such as 30m, 1h or 1d")
    if seconds > _MAX_WINDOW:
        raise ValueError(f"window {text!r} is longer than 30 days")
    return seconds


def format_window(seconds: int) -> str:
    """Seconds as the shortest exact duration: ``1h``, ``90m``, ``45s``, ``2d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def infer_format(url: str) -> Format:
    """The format a notification URL expects: PagerDuty and Slack by their hosts, else a plain JSON webhook."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "events.pagerduty.com" or host.endswith(".events.pagerduty.com"):
        return "pagerduty"
    if host == "hooks.slack.com":
        return "slack"
    return "webhook"


def mask_secret(value: str) -> str:
    """A secret (a routing key) as people may see it: its last 4 characters only."""
    if not value:
        return ""
    return "****" + value[-4:] if len(value) > 8 else "****"


def mask_url(url: str) -> str:
    """A notification URL without what may be a secret: scheme, host and port only.

    A Slack webhook URL is its own credential (the path is the token), and webhook URLs often
    carry tokens in the path, the query or the user part, so none of those are shown.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{host}{port}{tail}"


def format_metric_value(metric: str, value: float | None) -> str:
    """A monitored value for people: rates and eval scores as percentages, latency in ms, cost in USD."""
    if value is None:
        return "no value"
    known = metric_info(metric)
    return format_value("rate" if is_eval_metric(metric) else (known or "number"), value)


def condition_text(metric: str, op: str, threshold: float) -> str:
    """When a monitor fires, for people: ``task_success_rate below 90.0%``."""
    return f"{metric} {op} {format_metric_value(metric, threshold)}"
