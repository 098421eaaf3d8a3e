"""Where a replay's own spans go when nobody said: nowhere, rather than a collector nobody started."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["DiscardExporter", "discard_unless_configured"]


class DiscardExporter(SpanExporter):
    """Accepts spans and forgets them: no network, no retries, no log noise."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        """Drop ``spans``."""
        return SpanExportResult.SUCCESS


def discard_unless_configured() -> None:
    """If the SDK was never configured, configure it to discard spans.

    Otherwise the first replayed span would configure it from the environment and export to
    http://127.0.0.1:4318, where in a test run nothing listens (retries, warnings, a slow exit).
    """
    from tracereel.sdk.hooks import is_configured

    if not is_configured():
        import tracereel

        tracereel.configure(exporter=DiscardExporter())
