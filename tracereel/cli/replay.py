"""``tracereel replay``: re-run a recorded trace against the current code, serving tools and LLMs from the tape."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from tracereel.cli._traces import CannotRun, collector_option, collector_was_given, read_trace

__all__ = ["command"]


def _record_to(collector: str | None, service: str | None = None) -> None:
    """Where the replay's own trace goes: the collector (under the original's service name), or
    nowhere (no export attempts, no noise)."""
    import tracereel

    if collector:
        tracereel.configure(service_name=service or None, endpoint=collector, schedule_delay_millis=200)
        return
    from tracereel.replay import DiscardExporter

    tracereel.configure(exporter=DiscardExporter())


def _service(trace: dict[str, Any]) -> str | None:
    spans = trace.get("spans") or []
    roots = [s for s in spans if not s.get("parent_span_id")] or spans
    return next((str(s["service_name"]) for s in roots if s.get("service_name")), None)


def _is_replay(trace: dict[str, Any]) -> bool:
    from tracereel import semconv as sc

    return any(
        sc.REPLAY_OF in (s.get("attributes") or {}) and not s.get("parent_span_id") for s in trace.get("spans", [])
    )


def _replay_all(
    collector: str, since: str | None, until: str | None, agent: str | None, limit: int, options: dict[str, Any]
) -> list[Any]:
    from tracereel.replay import CannotReplay, ReplayReport, fetch_trace, list_traces, replay

    try:
        summaries = list_traces(collector, since=since, until=until, agent=agent, limit=limit)
    except CannotReplay as exc:
        raise CannotRun(str(exc)) from None
    reports = []
    for summary in summaries:
        trace_id = summary["trace_id"]
        try:
            trace = fetch_trace(trace_id, collector)
        except CannotReplay as exc:
            reports.append(ReplayReport(trace_id=trace_id, status="cannot_run", error=str(exc)))
            continue
        if _is_replay(trace):
            continue  # a replay of another trace: replaying it again says nothing new
        reports.append(replay(trace, **options))
    return reports


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
    help="Send the replay's own trace (linked to the original) to the collector [default: on unless --file].",
)
@click.option("--all", "replay_all", is_flag=True, help="Replay every trace from the collector (a CI gate).")
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
    replay_all: bool,
    since: str | None,
    until: str | None,
    agent: str | None,
    limit: int,
) -> None:
    """Replay TRACE_ID: call the recorded entry point with the recorded input, serving every tool and
    LLM call from the recording. Exit 0 reproduced, 1 diverged, 2 cannot run."""
    from rich.console import Console

    import tracereel
    from tracereel.replay import CannotReplay, parse_live, parse_overrides, replay
    from tracereel.replay._render import render_report, render_summary

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
    from_collector = file is None
    if record is None:
        record = from_collector or collector_was_given(ctx)
    console = Console(soft_wrap=True, highlight=False)
    try:
        if replay_all:
            if trace_id or file:
                raise CannotRun("--all replays the collector's traces: give no TRACE_ID or --file")
            _record_to(collector if record else None)
            reports = _replay_all(collector, since, until, agent, limit, options)
            if as_json:
                counts = {s: sum(1 for r in reports if r.status == s) for s in ("reproduced", "diverged", "cannot_run")}
                document = {"summary": counts, "reports": [r.to_dict() for r in reports]}
                click.echo(json.dumps(document, indent=2, default=str))
            else:
                render_summary(reports, console)
            if any(r.status == "diverged" for r in reports):
                code = 1
            elif any(r.status == "cannot_run" for r in reports):
                code = 2
            else:
                code = 0
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
