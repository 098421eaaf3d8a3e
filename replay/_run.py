"""Replaying one recorded trace: options parsed, the entry point loaded, the engine run, a report returned."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from tracereel.replay._engine import Engine, ReplayOptions, timed_run
from tracereel.replay._entrypoint import load_entrypoint
from tracereel.replay._options import parse_faults, parse_live, parse_override, parse_overrides
from tracereel.replay._report import ReplayReport
from tracereel.replay._sdk import discard_unless_configured
from tracereel.replay._source import load_file
from tracereel.replay._tape import CannotReplay, Tape

__all__ = ["replay", "replay_file"]


def replay(
    trace: Mapping[str, Any],
    *,
    entrypoint: str | None = None,
    mode: str = "strict",
    live: Iterable[str] = (),
    stub_agents: Iterable[str] = (),
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    faults: Mapping[str, str] | None = None,
    context_only: bool = False,
) -> ReplayReport:
    """Replay one trace (the read API's JSON or a loaded trace file) and return its report.

    ``entrypoint`` (``module:function`` or ``file.py:function``) replaces the recorded one;
    ``mode`` is ``strict`` (stop at the first divergence) or ``live`` (run on for real from
    there); ``live`` names boundaries that run for real (``"tool:send_email"``); ``stub_agents``
    names sub-agents served from their recorded output; ``overrides`` maps ``"tool:NAME#N"`` to
    the value to serve instead (or is a list of ``"tool:NAME#N=JSON"`` texts). Never raises for a
    trace that cannot be replayed: the report's status is then ``cannot_run`` (exit code 2).

    The replay's own spans go wherever the SDK is configured to send them (``tracereel.configure``);
    if it never was, they are discarded.
    """
    started = time.perf_counter()
    trace_id = str(trace.get("trace_id") or "")
    try:
        if mode not in ("strict", "live"):
            raise CannotReplay(f"mode {mode!r}: expected strict or live")
        if overrides is None:
            parsed: dict[tuple[str, str, int | None], Any] = {}
        elif isinstance(overrides, Mapping):
            parsed = {}
            for target, value in cast(Mapping[str, Any], overrides).items():
                key, _ = parse_override(f"{target}=null")
                parsed[key] = value
        else:
            parsed = parse_overrides(overrides)
        options = ReplayOptions(
            mode=mode,
            live=parse_live(live),
            stub_agents=frozenset(stub_agents),
            overrides=parsed,
            faults=parse_faults(faults or {}),
            context_only=context_only,
        )
        tape = Tape(dict(trace))
        trace_id = tape.trace_id
        target = entrypoint or tape.root.entrypoint
        assert target is not None
        func = load_entrypoint(target, file=None if entrypoint else tape.root.entrypoint_file)
        discard_unless_configured()
        engine = Engine(tape, options)
        report = timed_run(engine, func)
        if entrypoint:
            report.entrypoint = entrypoint
        return report
    except CannotReplay as exc:
        return ReplayReport(
            trace_id=trace_id,
            status="cannot_run",
            mode=mode,
            error=str(exc),
            seconds=round(time.perf_counter() - started, 4),
        )


def replay_file(path: str | Path, **options: Any) -> ReplayReport:
    """Replay a trace file written by ``tracereel export``; the options are :func:`replay`'s."""
    try:
        trace = load_file(path)
    except CannotReplay as exc:
        return ReplayReport(trace_id="", status="cannot_run", error=str(exc))
    return replay(trace, **options)
