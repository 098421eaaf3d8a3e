"""``tracereel replay``: re-run a recorded trace against the current code, serving tools and LLMs from the tape."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console

import tracereel
from tracereel.cli._errors import CannotRun
from tracereel.cli._traces import collector_option, read_trace
from tracereel.replay import CannotReplay, DiscardExporter, parse_live, parse_overrides, replay, replay_all
from tracereel.replay.render import render_report, render_summary
from tracereel.traces import Trace

__all__ = ["command"]


def _record_to(collector: str | None, service: str | None = None) -> None:
    """Where the replay's own trace goes: the collector (under the original's service name), or
    nowhere (no export attempts, no noise)."""
    if collector:
        tracereel.configure(service_name=service or None, endpoint=collector, schedule_delay_millis=200)
        return
    tracereel.configure(exporter=DiscardExporter())


def _service(trace: Trace) -> str | None:
    spans = trace.get("spans") or []
    roots = [s for s in spans if not s.get("parent_span_id")] or spans
    return next((str(s.get("service_name")) for s in roots if s.get("service_name")), None)


@click.command("replay")
@click.argument("trace_id", required=False)
@collector_option
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Replay a trace file from `tracereel export`.")
@click.option("--entrypoint", metavar="MODULE:FUNC", help="Call this instead of the recorded entry point.")
@click.option(
    "--mode",
    type=click.Choice(["strict", "live"]),
    default="strict",
    show_default=True,
    help="strict: stop at the first divergence; live: run the rest for real from there.",
)
@click.option(
    "--override",
    "overrides",
    multiple=True,
    metavar="KIND:NAME[#N]=VALUE",
    help="Serve VALUE (JSON, or @file.json) instead of the recorded result of call N (1-based) of a tool/llm.",
)
@click.option("--live", "live", multiple=True, metavar="KIND:NAME", help="Let these boundaries run for real.")
@click.option("--stub-agent", "stub_agents", multiple=True, metavar="NAME", help="Serve this sub-agent's output.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--record/--no-record",
    default=None,
    help="Send the replay's own trace (linked to the original) to the collector [default: on, off with --file].",
)
@click.option("--all", "all_traces", is_flag=True, help="Replay every trace from the collector (a CI gate).")
@click.option("--from", "since", metavar="TIME", help="With --all: traces since (ISO-8601 or unix seconds).")
@click.option("--to", "until", metavar="TIME", help="With --all: traces until.")
@click.option("--agent", metavar="NAME", help="With --all: only traces of this root agent.")
@click.option("--limit", type=int, default=100, show_default=True, help="With --all: at most this many traces.")
@click.pass_context
def command(
    ctx: click.Context,
    trace_id: str | None,
    collector: str,
    file: str | None,
    entrypoint: str | None,
    mode: str,
    overrides: Sequence[str],
    live: Sequence[str],
    stub_agents: Sequence[str],
    as_json: bool,
    record: bool | None,
    all_traces: bool,
    since: str | None,
    until: str | None,
    agent: str | None,
    limit: int,
) -> None:
    """Replay TRACE_ID: call the recorded entry point with the recorded input, serving every tool and
    LLM call from the recording. Exit 0 reproduced, 1 diverged, 2 cannot run."""
    try:
        parse_overrides(overrides)
        parse_live(live)
    except CannotReplay as exc:
        raise CannotRun(str(exc)) from None
    options: dict[str, Any] = {
        "entrypoint": entrypoint,
        "mode": mode,
        "live": live,
        "stub_agents": stub_agents,
        "overrides": overrides,
    }
    if record is None:
        # A file is replayed offline unless --record asks for the replay's trace to be sent.
        record = file is None
    console = Console(soft_wrap=True, highlight=False)
    try:
        if all_traces:
            if trace_id or file:
                raise CannotRun("--all replays the collector's traces: give no TRACE_ID or --file")
            _record_to(collector if record else None)
            try:
                batch = replay_all(
                    collector, since=since, until=until, agent=agent, limit=limit, replay_options=options
                )
            except CannotReplay as exc:
                raise CannotRun(str(exc)) from None
            if as_json:
                click.echo(json.dumps(batch.to_dict(), indent=2, default=str))
            else:
                render_summary(batch.reports, console)
            code = batch.exit_code
        else:
            trace = read_trace(trace_id, collector, file)
            _record_to(collector if record else None, _service(trace))
            report = replay(trace, **options)
            if not record:
                report.replay_trace_id = None  # nothing was sent anywhere
            if report.status == "cannot_run" and not as_json:
                raise CannotRun(report.error or "cannot replay")
            if as_json:
                click.echo(report.to_json())
            else:
                render_report(report, console)
            code = report.exit_code
    finally:
        tracereel.flush()
    sys.stdout.flush()
    ctx.exit(code)
