"""Trace ids, durations and metric values: each read or written by one rule, wherever a user meets it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tracereel.catalog import CATALOG, format_change, format_value
from tracereel.client import CollectorClient, CollectorError, CollectorUnavailable
from tracereel.collector.query.params import ParamError, parse_bucket
from tracereel.collector.query.params import parse_trace_id as parse_param
from tracereel.durations import parse_duration, whole_seconds
from tracereel.monitors import format_metric_value, parse_window
from tracereel.traces import parse_trace_id

TRACE_IDS: list[tuple[str, str | None]] = [
    ("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("  0123456789ABCDEF0123456789ABCDEF\n", "0123456789abcdef0123456789abcdef"),
    ("0123456789abcdef0123456789abcde", None),  # 31 digits
    ("0123456789abcdef0123456789abcdefa", None),  # 33
    ("0123456789abcdef0123456789abcdeg", None),
    ("0123456789abcdef/123456789abcdef", None),
]


@pytest.mark.parametrize(("text", "expected"), TRACE_IDS)
def test_a_trace_id_is_read_alike_by_the_rule_and_the_collector(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="is not 32 hex digits") as refused:
            parse_trace_id(text)
        with pytest.raises(ParamError) as collector_refused:
            parse_param(text)
        assert str(collector_refused.value) == str(refused.value)
    else:
        assert parse_trace_id(text) == parse_param(text) == expected


def test_the_client_refuses_a_malformed_trace_id_before_sending(unused_port: int) -> None:
    client = CollectorClient(f"http://127.0.0.1:{unused_port}")
    for call in (client.trace, client.delete_trace):
        with pytest.raises(CollectorError, match="is not 32 hex digits") as refused:
            call("not-a-trace")
        assert not isinstance(refused.value, CollectorUnavailable)
    with pytest.raises(CollectorUnavailable):
        client.trace("0123456789abcdef0123456789abcdef")  # well formed: it is sent, and nothing answers


DURATIONS: list[tuple[Any, float | None]] = [
    ("90", 90),
    (90, 90),
    ("90s", 90),
    ("30m", 1800),
    ("2h", 7200),
    ("2H", 7200),
    (" 7d ", 604800),
    ("1.5m", 90),
    ("0.5s", 0.5),
    ("0", None),
    ("0m", None),
    ("-5m", None),
    ("5w", None),
    ("soon", None),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_a_duration_is_read_alike_by_buckets_monitor_windows_and_the_rule(text: Any, seconds: float | None) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=1)
    if seconds is None:
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds
    # Buckets and monitor windows are whole seconds of the same syntax.
    whole = seconds is not None and seconds == int(seconds)
    assert whole_seconds(text) == (int(seconds) if whole and seconds else None)
    if seconds is not None and seconds == int(seconds):
        assert parse_bucket(str(text), start, end) == parse_window(text) == seconds
    else:
        with pytest.raises(ParamError, match="bucket="):
            parse_bucket(str(text), start, end)
        with pytest.raises(ValueError, match="is not a duration"):
            parse_window(text)


FORMATS: list[tuple[str, float | None, str]] = [
    ("task_success_rate", 0.8254, "82.5%"),
    ("tasks", 12345, "12,345"),
    ("p95_latency_ms", 2000, "2000 ms"),
    ("p95_latency_ms", 1234.6, "1235 ms"),
    ("cost_usd", 0.01234, "$0.0123"),
    ("cost_usd", 1234.5, "$1,234.50"),
    ("steps_per_task", 3.5, "3.5"),
    ("steps_per_task", 5.0, "5"),
    ("steps_per_task", 3.14159, "3.14"),
    ("task_success_rate", None, "—"),
]


@pytest.mark.parametrize(("key", "value", "text"), FORMATS)
def test_a_metric_value_is_written_alike_by_the_dashboard_and_monitors(key: str, value: Any, text: str) -> None:
    from tracereel.dashboard.format import format_value as dashboard_format

    assert format_value(CATALOG[key], value) == dashboard_format(CATALOG[key], value) == text
    if value is not None:
        assert format_metric_value(key, value) == text


def test_a_change_is_in_points_for_rates_and_in_the_unit_otherwise() -> None:
    assert format_change(CATALOG["task_success_rate"], -0.174) == "-17.4 pts"
    assert format_change(CATALOG["p95_latency_ms"], 250) == "+250 ms"
    assert format_change(CATALOG["cost_usd"], -0.5) == "-$0.5000"
    assert format_change(CATALOG["cost_usd"], None) == "—"
