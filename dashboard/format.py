"""How the dashboard formats values (no Streamlit here, so it is easy to test): metrics by the catalog's rule.

Whether a difference is better or worse is the collector's verdict (``GET /api/v1/compare``), not a
raw comparison here.
"""

from __future__ import annotations

import json
from typing import Any

# Metric values are formatted by the catalog's one rule, for the gate and monitors too.
from tracereel.catalog import Metric, format_change, format_value

__all__ = ["Metric", "format_change", "format_value", "parse_json", "short_ms"]


def short_ms(ms: float) -> str:
    """Milliseconds as a short human duration: ``850 ms``, ``2.4 s``, ``3.1 min``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def parse_json(text: Any) -> Any:
    """An attribute value as data if it is JSON text, else unchanged."""
    if not isinstance(text, str) or text[:1] not in '[{"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
