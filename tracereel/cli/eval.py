"""``tracereel eval``: run a golden set on replay, score it, gate CI on it (exit 0 / 1 / 2)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final

import click

from tracereel.cli._traces import CannotRun, collector_option

if TYPE_CHECKING:
    from tracereel.contracts.evals import EvalReport

__all__ = ["command"]


_RESULT: Final = {"passed": "[green]pass[/green]", "failed": "[red]FAIL[/red]", "skipped": "[yellow]skip[/yellow]"}


def _warn(text: str) -> None:
    click.echo(f"warning: {text}", err=True)


def _render(report: EvalReport) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from tracereel.contracts.evals import CaseCounts
    from tracereel.evals.compare import case_label

    console = Console(soft_wrap=True, highlight=False)
    table = Table("case", "variant", "result", "scores")
    for case in report.cases:
        name = case.id + (f" #{case.repeat + 1}" if case.repeat else "")
        scores = ", ".join(f"{k}={v if isinstance(v, bool) else round(v, 3)}" for k, v in case.scores.items())
        table.add_row(escape(name), escape(case.variant or ""), _RESULT[case.status], escape(scores))
    console.print(table)
    # Why each case failed or was skipped, below the table and unwrapped: a divergence report is several lines.
    for case in report.cases:
        if case.status == "passed":
            continue
        label = case_label(case.id, case.variant) + (f" #{case.repeat + 1}" if case.repeat else "")
        if case.status == "skipped":
            console.print(f"[yellow]SKIP[/yellow] {escape(label)}: {escape(case.skip_reason or '')}")
            continue
        why = case.error or "; ".join(f"{n}: {case.reasons.get(n, '')}" for n in case.failed)
        console.print(f"[red]FAIL[/red] {escape(label)}: {escape(why)}")
    counts = report.counts or CaseCounts.of(report.cases)
    tested = counts.passed + counts.failed
    means = ", ".join(f"{k} {v:.3f}" for k, v in report.scores.items())
    skipped = f", {counts.skipped} skipped (not in the pass rate)" if counts.skipped else ""
    console.print(
        f"{report.dataset}: pass rate {report.pass_rate:.1%} over {tested} tested run(s){skipped}"
        + (f"; means over the same runs: {means}" if means else "")
    )
    for row in report.consistency:
        if row.distinct_outputs > 1 or row.passed not in (0, row.runs):
            console.print(
                f"  {escape(case_label(row.id, row.variant))}: passed {row.passed}/{row.runs}, "
                f"same output in {row.agreement:.0%} of runs"
            )
    if report.baseline is not None:
        console.print(
            f"baseline {report.baseline.run_id}: pass rate {report.baseline.pass_rate}; "
            f"{len(report.regressions)} regression(s), {len(report.fixes)} fix(es)"
        )
        if report.regressions:
            console.print(f"[red]regressions[/red]: {escape(', '.join(report.regressions))}")
        if report.fixes:
            console.print(f"[green]fixes[/green]: {escape(', '.join(report.fixes))}")
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
    from tracereel.evals.api import run
    from tracereel.evals.dataset import DatasetError
    from tracereel.evals.report import BaselineError, parse_min_scores

    try:
        report = run(
            file,
            min_pass_rate=min_pass_rate,
            min_scores=parse_min_scores(min_scores),
            baseline=baseline,
            max_regression=max_regression,
            junit=junit,
            upload=not no_upload,
            collector=collector,
            configure_sdk=True,
            warn=_warn,
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
    except (ValueError, DatasetError, BaselineError) as exc:
        raise CannotRun(str(exc)) from None
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        _render(report)
    sys.stdout.flush()
    ctx.exit(0 if report.gate.passed else 1)
