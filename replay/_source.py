"""Where traces come from: the collector's read API (through the one collector client) or a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from tracereel.client import CollectorClient, CollectorError
from tracereel.replay._tape import CannotReplay
from tracereel.sdk.settings import collector_endpoint
from tracereel.traces import FILE_FORMAT, Trace, TraceFile, TraceSummary

__all__ = ["FILE_FORMAT", "default_collector", "export_trace", "fetch_trace", "list_traces", "load_file"]


def default_collector() -> str:
    """The collector the SDK's settings name: ``TRACEREEL_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_*``), else local."""
    return collector_endpoint()


def fetch_trace(trace_id: str, collector: str | None = None) -> Trace:
    """One trace from the collector's read API (``GET /api/v1/traces/{id}``), with the configured key."""
    try:
        return CollectorClient(collector).trace(trace_id)
    except CollectorError as exc:
        raise CannotReplay(str(exc)) from None


def list_traces(
    collector: str | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    agent: str | None = None,
    limit: int = 100,
) -> list[TraceSummary]:
    """Trace summaries from ``GET /api/v1/traces`` (newest first)."""
    try:
        return CollectorClient(collector).traces(start=since, end=until, agent=agent, limit=limit)
    except CollectorError as exc:
        raise CannotReplay(f"listing traces: {exc}") from None


def load_file(path: str | Path) -> TraceFile:
    """A trace written by ``tracereel export`` (or the read API's JSON saved to a file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotReplay(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CannotReplay(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(cast(dict[str, Any], data).get("spans"), list):
        raise CannotReplay(f"{path} is not a tracereel trace file (no 'spans' list)")
    return cast(TraceFile, data)


def export_trace(trace: Trace, path: str | Path, *, source: str | None = None) -> Path:
    """Write ``trace`` as a self-contained file that ``tracereel replay --file`` reads back."""
    document: TraceFile = {**trace, "format": FILE_FORMAT, "source": source}
    # The format and source first, so a person opening the file sees what it is.
    ordered = {"format": document["format"], "source": document["source"], **trace}
    target = Path(path)
    target.write_text(json.dumps(ordered, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return target
