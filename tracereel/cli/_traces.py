"""What the commands that read traces share: ``--collector``, ``--file`` and "cannot run" (exit 2)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["CannotRun", "collector_option", "read_trace"]


class CannotRun(click.ClickException):
    """An expected failure that means "cannot run" (unknown trace, unreachable collector, bad file): exit 2."""

    exit_code = 2


def collector_option(func: Any) -> Any:
    """``--collector URL`` [env: TRACEREEL_ENDPOINT; default: http://127.0.0.1:4318]."""
    return click.option(
        "--collector",
        metavar="URL",
        envvar="TRACEREEL_ENDPOINT",
        default="http://127.0.0.1:4318",
        show_default=True,
        help="Collector to read traces from [env: TRACEREEL_ENDPOINT].",
    )(func)


def read_trace(trace_id: str | None, collector: str, file: str | None) -> dict[str, Any]:
    """The trace named by ``trace_id`` on ``collector``, or the trace file ``file``; CannotRun on failure."""
    from tracereel.replay import CannotReplay, fetch_trace, load_file

    try:
        if file:
            trace = load_file(file)
            if trace_id and str(trace.get("trace_id", "")).lower() != trace_id.strip().lower():
                raise CannotReplay(f"{file} holds trace {trace.get('trace_id')}, not {trace_id}")
            return trace
        if not trace_id:
            raise CannotReplay("give a TRACE_ID (or --file trace.json)")
        return fetch_trace(trace_id, collector)
    except CannotReplay as exc:
        raise CannotRun(str(exc)) from None
