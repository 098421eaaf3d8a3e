"""How the dashboard formats each metric of the catalog (no Streamlit here, so it is easy to test).

Whether a difference is better or worse is the collector's verdict (``GET /api/v1/compare``), not a
raw comparison here.
"""

from __future__ import annotations

import json
from typing import Any

from tracereel.catalog import Metric

__all__ = ["format_change", "format_value", "parse_json", "short_ms"]


def short_ms(ms: float) -> str:
    """Milliseconds as a short human duration: ``850 ms``, ``2.4 s``, ``3.1 min``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def format_value(metric: Metric, value: Any) -> str:
    """A metric value for people; ``—`` when it is undefined (null)."""
    if value is None:
        return "—"
    if metric.unit == "count":
        return f"{int(value):,}"
    if metric.unit == "rate":
        return f"{value * 100:.1f}%"
    if metric.unit == "ms":
        return short_ms(float(value))
    if metric.unit == "usd":
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    return f"{value:,.2f}"


def format_change(metric: Metric, diff: float) -> str:
    """A signed difference for people: points for rates, the metric's own unit otherwise."""
    if metric.unit == "rate":
        return f"{diff * 100:+.1f} pts"
    sign = "+" if diff >= 0 else "-"
    return sign + format_value(metric, abs(diff))


def parse_json(text: Any) -> Any:
    """An attribute value as data if it is JSON text, else unchanged."""
    if not isinstance(text, str) or text[:1] not in '[{"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
