"""Printing replay reports in the terminal (rich)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tracereel.replay._report import DIVERGENCE_KINDS, ReplayReport, address_text

__all__ = ["render_report", "render_summary"]


def _short(value: object, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _diff(console: Console, diff: str) -> None:
    for line in diff.splitlines():
        style = (
            "red" if line.startswith("-") else "green" if line.startswith("+") else "cyan" if line[:2] == "@@" else ""
        )
        console.print(Text("    " + line, style=style))


def render_report(report: ReplayReport, console: Console) -> None:
    """The full human report of one replay."""
    console.print(
        f"[bold]replay of trace {report.trace_id or '?'}[/] (mode {report.mode})"
        + (f", entry point {escape(report.entrypoint)}" if report.entrypoint else "")
    )
    if report.status == "cannot_run":
        console.print(f"[red bold]cannot replay:[/] {escape(report.error or '')}")
        return
    if report.status == "reproduced":
        console.print(f"[green bold]reproduced[/]: {report.served} recorded call(s) served, same outcome")
    else:
        d = report.divergence
        assert d is not None
        console.print(f"[red bold]diverged[/] ({d.kind}): {escape(DIVERGENCE_KINDS.get(d.kind, ''))}")
        console.print(f"  at     {escape(d.where)}")
        console.print(f"  why    {escape(d.message)}")
        if d.redacted:
            console.print(
                f"  note   the recording has redacted values at {escape(', '.join(d.redacted))} "
                "(replaced by the collector before storage): they cannot be compared"
            )
        if d.diff:
            console.print("  expected (recorded) vs actual (replay):")
            _diff(console, d.diff)
        elif d.actual:
            console.print(f"  actual arguments: {escape(_short(d.actual, 400))}")
        if d.candidates:
            console.print("  nearest recorded calls:")
            for c in d.candidates:
                used = " (already used)" if c.get("consumed") else ""
                console.print(
                    f"    {escape(c['label'])} under {escape(' > '.join(c['agent_path']) or '(top)')}"
                    f"  similarity {c['similarity']:.2f}{used}  {escape(_short(c['arguments']))}"
                )
    outcome = report.outcome
    if outcome:
        changed = outcome.get("changed")
        if "stopped" in (outcome.get("replayed") or {}):
            verdict = "not reached (strict replay stops at the first divergence; --mode live runs on)"
        elif changed is None:
            verdict = "unknown (the recording has none)"
        else:
            verdict = "changed" if changed else "unchanged"
        console.print(f"outcome {verdict}:")
        console.print(f"  recorded  {escape(_short(outcome.get('recorded'), 200))}")
        console.print(f"  replayed  {escape(_short(outcome.get('replayed'), 200))}")
    extras = [f"{report.served}/{report.recorded_calls} recorded calls served"]
    if report.live:
        extras.append(f"{report.live} live")
    if report.stubbed:
        extras.append(f"{report.stubbed} sub-agent(s) stubbed")
    if report.overridden:
        extras.append("overridden: " + ", ".join(report.overridden))
    nd = report.nondeterminism
    if nd:
        extras.append(f"clock/random/uuid: {nd.get('served', 0)} served, {nd.get('live', 0)} live")
    console.print("; ".join(escape(e) for e in extras) + f"; {report.seconds:.3f}s")
    if report.truncated:
        console.print("[yellow]the recording is half-finished: the original run never ended (crash?)[/]")
    for note in report.notes:
        console.print(f"note: {escape(note)}")
    if report.replay_trace_id:
        console.print(f"this replay is trace {report.replay_trace_id} (linked to {report.trace_id})")


def render_summary(reports: Sequence[ReplayReport], console: Console) -> None:
    """One line per replayed trace, then the totals (``tracereel replay --all``)."""
    table = Table(title=f"replayed {len(reports)} trace(s)")
    table.add_column("trace")
    table.add_column("result")
    table.add_column("where / why")
    styles = {"reproduced": "green", "diverged": "red", "cannot_run": "yellow"}
    for r in reports:
        if r.divergence is not None:
            detail = f"{r.divergence.kind} at {address_text(r.divergence.address)}"
        else:
            detail = r.error or ""
        table.add_row(r.trace_id, Text(r.status, style=styles.get(r.status, "")), escape(detail))
    console.print(table)
    counts = {s: sum(1 for r in reports if r.status == s) for s in styles}
    console.print(
        f"{counts['reproduced']} reproduced, {counts['diverged']} diverged, {counts['cannot_run']} could not run"
    )
