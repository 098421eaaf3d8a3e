"""What the commands that read traces share: ``--collector``, ``--file`` and printing rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from pydantic_core import to_jsonable_python

from tracereel.cli._errors import CannotRun, ask_collector
from tracereel.constants import DEFAULT_ENDPOINT
from tracereel.replay import CannotReplay, fetch_trace, load_file
from tracereel.sdk.settings import ConfigError, collector_endpoint
from tracereel.traces import Trace

# CannotRun and ask_collector are re-exported: the commands that read traces take them from here.
__all__ = ["CannotRun", "ask_collector", "collector_option", "echo_rows", "read_trace"]

_Row = TypeVar("_Row")


def _resolve_collector(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    # The address comes from the SDK's settings, like the key: one place decides for every command.
    try:
        url = collector_endpoint(value)
    except ConfigError as exc:
        raise CannotRun(str(exc)) from None
    if not url.startswith(("http://", "https://")):
        raise CannotRun(f"--collector {value!r} is not an http(s):// URL")
    return url


def collector_option(func: Any) -> Any:
    """``--collector URL`` [default: ``TRACEREEL_ENDPOINT``, else local]; the key is ``TRACEREEL_API_KEY``."""
    return click.option(
        "--collector",
        metavar="URL",
        callback=_resolve_collector,
        help=f"Collector to talk to [default: TRACEREEL_ENDPOINT, else {DEFAULT_ENDPOINT}; key: TRACEREEL_API_KEY].",
    )(func)


def echo_rows(rows: Sequence[_Row], as_json: bool, empty: str, line: Callable[[_Row], str]) -> None:
    """Print ``rows`` (the client's typed answers, or mappings) as one JSON list, or one ``line`` each
    (``empty`` when there are none)."""
    if as_json:
        click.echo(json.dumps(to_jsonable_python(rows)))
    elif not rows:
        click.echo(empty)
    else:
        for row in rows:
            click.echo(line(row))


def read_trace(trace_id: str | None, collector: str, file: str | None) -> Trace:
    """The trace named by ``trace_id`` on ``collector``, or the trace file ``file``; CannotRun on failure."""
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
