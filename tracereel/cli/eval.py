"""``tracereel eval``: run a golden set on replay, score it, gate CI on it (exit 0 / 1 / 2)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tracereel.cli._traces import CannotRun, collector_option

__all__ = ["command"]


def _warn(text: str) -> None:
    click.echo(f"warning: {text}", err=True)


def _render(report: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(soft_wrap=True, highlight=False)
    table = Table("case", "variant", "result", "scores")
    for case in report.cases:
        name = case.id + (f" #{case.repeat + 1}" if case.repeat else "")
        scores = ", ".join(f"{k}={v if isinstance(v, bool) else round(v, 3)}" for k, v in case.scores.items())
        result = "[green]pass[/green]" if case.passed else "[red]FAIL[/red]"
        table.add_row(escape(name), escape(case.variant or ""), result, escape(scores))
    console.print(table)
    # Why each case failed, below the table and unwrapped: a divergence report is several lines.
    for case in report.cases:
        if case.passed:
            continue
        label = (
            case.id + (f" [{case.variant}]" if case.variant else "") + (f" #{case.repeat + 1}" if case.repeat else "")
        )
        why = case.error or "; ".join(f"{n}: {case.reasons.get(n, '')}" for n in case.failed)
        console.print(f"[red]FAIL[/red] {escape(label)}: {escape(why)}")
    means = ", ".join(f"{k} {v:.3f}" for k, v in report.scores.items())
    console.print(f"{report.dataset}: pass rate {report.pass_rate:.1%} over {len(report.cases)} run(s); {means}")
    for row in report.consistency:
        if row["distinct_outputs"] > 1 or row["passed"] not in (0, row["runs"]):
            console.print(
                f"  {row['id']}{' [' + row['variant'] + ']' if row['variant'] else ''}: passed {row['passed']}/"
                f"{row['runs']}, same output in {row['agreement']:.0%} of runs"
            )
    if report.baseline is not None:
        console.print(f"baseline {report.baseline.get('run_id')}: pass rate {report.baseline.get('pass_rate')}")
        if report.regressions:
            console.print(f"[red]regressions[/red]: {escape(', '.join(report.regressions))}")
    if report.gate.passed:
        console.print("[green]gate passed[/green]")
    else:
        for reason in report.gate.reasons:
            console.print(f"[red]gate failed[/red]: {escape(reason)}")


@click.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--agent", metavar="MODULE:FUNC", help="Run this entry point instead of the dataset's or recorded one.")
@click.option("--tools", type=click.Choice(["tape", "live"]), help="Tool results from the recording or for real.")
@click.option("--llm", type=click.Choice(["tape", "live"]), help="Model answers from the recording or for real.")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True, help="Run each case K times.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True, help="Cases in parallel.")
@click.option(
    "--fault", "faults", multiple=True, metavar="tool:NAME=timeout|error", help="A fault variant of each case."
)
@click.option("--perturb", "perturb", multiple=True, metavar="NAME", help="typos, casing, whitespace, truncation.")
@click.option("--attack", type=click.Choice(["prompt-injection"]), help="Injection variants with a canary token.")
@click.option("--attack-corpus", type=click.Path(dir_okay=False), help="More injections (JSON list or one per line).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of perturbations and canaries.")
@click.option("--min-pass-rate", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option("--min-score", "min_scores", multiple=True, metavar="NAME=X", help="Gate on a scorer's mean.")
@click.option("--baseline", metavar="latest|RUN_ID", help="Compare with a stored run of this dataset.")
@click.option("--max-regression", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="With --baseline: the largest allowed drop in pass rate.")  # fmt: skip
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML (a testcase per case).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-upload", is_flag=True, help="Do not store the run (nor the case traces) in the collector.")
@collector_option
@click.pass_context
def command(
    ctx: click.Context,
    file: str,
    agent: str | None,
    tools: str | None,
    llm: str | None,
    repeat: int,
    concurrency: int,
    faults: tuple[str, ...],
    perturb: tuple[str, ...],
    attack: str | None,
    attack_corpus: str | None,
    seed: int,
    min_pass_rate: float,
    min_scores: tuple[str, ...],
    baseline: str | None,
    max_regression: float,
    junit: str | None,
    as_json: bool,
    no_upload: bool,
    collector: str,
) -> None:
    """Run the golden set FILE: every case replayed against its recorded tool results (or live),
    scored and gated. Exit 0 every gate passed, 1 a gate failed, 2 cannot run."""
    import tracereel
    from tracereel.client import CollectorClient, CollectorError
    from tracereel.evals.dataset import DatasetError, load_dataset
    from tracereel.evals.report import BaselineError, apply_gates, fetch_baseline, parse_min_scores, write_junit
    from tracereel.evals.runner import RunOptions, evaluate
    from tracereel.replay import DiscardExporter

    try:
        minimums = parse_min_scores(min_scores)
        dataset = load_dataset(file)
    except (ValueError, DatasetError) as exc:
        raise CannotRun(str(exc)) from None
    client = CollectorClient(collector)
    upload = not no_upload
    if upload:
        try:
            client.health()
        except CollectorError as exc:
            _warn(f"the run is not stored: {exc}")
            upload = False
    stored = None
    if baseline is not None:
        try:
            stored = fetch_baseline(client, dataset.name, baseline)
        except BaselineError as exc:
            raise CannotRun(str(exc)) from None
    # Case runs are traces: into the collector with the report, or nowhere.
    if upload:
        tracereel.configure(service_name="tracereel-eval", endpoint=collector, schedule_delay_millis=200)
    else:
        tracereel.configure(exporter=DiscardExporter())
    options = RunOptions(
        agent=agent,
        tools=tools,
        llm=llm,
        repeat=repeat,
        concurrency=concurrency,
        faults=faults,
        perturb=perturb,
        attack=attack,
        attack_corpus=attack_corpus,
        seed=seed,
        progress=not as_json and sys.stderr.isatty(),
    )
    try:
        report = evaluate(dataset, options)
    except DatasetError as exc:
        raise CannotRun(str(exc)) from None
    finally:
        tracereel.flush()
    apply_gates(
        report, min_pass_rate=min_pass_rate, min_scores=minimums, baseline=stored, max_regression=max_regression
    )
    if junit:
        write_junit(report, junit)
    if upload:
        try:
            client.upload_eval_run(report.to_dict())
        except CollectorError as exc:
            _warn(f"the run is not stored: {exc}")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        _render(report)
    sys.stdout.flush()
    ctx.exit(0 if report.gate.passed else 1)
