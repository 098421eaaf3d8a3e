"""``tracereel gate``: a deploy gate. Is the canary version of an agent as good as the stable one?

Exit codes, for pipelines: 0 promote, 1 fail (a metric significantly worse beyond its tolerance),
2 inconclusive (too little data yet; the message says about how many more canary tasks),
3 the gate could not run (collector unreachable or refusing, bad options). Click's own usage
errors exit 2 elsewhere; here they exit 3, so a typo is never read as "inconclusive".
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Final

import click

from tracereel.catalog import format_change, format_value, metric_info
from tracereel.cli._errors import collector_errors
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient, CollectorError
from tracereel.durations import parse_duration

if TYPE_CHECKING:
    from tracereel.contracts.compare import Comparison

__all__ = ["CANNOT_RUN", "EXIT_CODES", "command"]

EXIT_CODES: Final = {"promote": 0, "fail": 1, "inconclusive": 2}
CANNOT_RUN: Final = 3


class _GateCommand(click.Command):
    """A command whose every expected failure, usage errors included, exits CANNOT_RUN (not click's 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            # click's stubs call exit_code a ClassVar; click itself sets it per instance too.
            exc.exit_code = CANNOT_RUN  # pyright: ignore[reportAttributeAccessIssue]
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.exit_code = CANNOT_RUN  # pyright: ignore[reportAttributeAccessIssue]
            raise


def _window_seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _format(key: str, value: float | None, *, signed: bool = False) -> str:
    # The catalog's one rule, as the dashboard and monitors format metrics.
    metric = metric_info(key) or "number"
    return format_change(metric, value) if signed else format_value(metric, value)


def _metric_keys(metrics: str | None, more: tuple[str, ...]) -> list[str] | None:
    """--metrics and each --metric, in order (None: the collector's default set)."""
    keys = [m.strip() for m in metrics.split(",")] if metrics else []
    keys += [m.strip() for m in more]
    return [k for k in dict.fromkeys(keys) if k] or None


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _level(confidence: float | None) -> str:
    return "—" if confidence is None else f"{confidence * 100:.4g}%"


def _print_report(answer: Comparison) -> None:
    from rich.console import Console
    from rich.table import Table

    base, canary = answer.baseline, answer.canary
    table = Table(
        title=f"{answer.agent}: canary {canary.version} ({canary.tasks:,} tasks) "
        f"against baseline {base.version} ({base.tasks:,} tasks)",
        title_justify="left",
    )
    for name in ("metric", "baseline", "canary", "effect", "interval", "level", "p (corrected)", "verdict", "gate"):
        table.add_column(name, justify="left" if name in ("metric", "verdict", "gate") else "right")
    for key, m in answer.metrics.items():
        ci = m.ci
        interval = f"[{_format(key, ci[0], signed=True)}, {_format(key, ci[1], signed=True)}]" if ci else "—"
        gate = m.gate + (f" (tolerance {m.tolerance})" if m.tolerance else "")
        table.add_row(
            key,
            _format(key, m.baseline),
            _format(key, m.canary),
            _format(key, m.effect, signed=True),
            interval,
            _level(m.confidence) if ci else "—",
            _p(m.p_value),
            m.verdict,
            gate,
        )
    console = Console(width=max(Console().width, 150))
    console.print(table)
    click.echo(
        f"Each metric is tested one-sided at its share of alpha {answer.alpha:g} (a weighted Bonferroni "
        "correction); its interval is at the same level, so it excludes 0 exactly when the metric is "
        "better or worse (docs/gates.md)."
    )
    click.echo(answer.message)


@click.command("gate", cls=_GateCommand)
@click.option("--agent", required=True, help="The agent (gen_ai.agent.name of its root spans).")
@click.option("--canary", required=True, metavar="VERSION", help="The version under test.")
@click.option("--baseline", required=True, metavar="VERSION", help="The stable version to compare with.")
@click.option(
    "--window",
    metavar="DURATION",
    default="2h",
    show_default=True,
    callback=_window_seconds,
    help="Compare the tasks of the last DURATION (30m, 2h, 1d).",
)
@click.option("--metrics", metavar="M1,M2", help="Metrics to judge [default: outcome, reliability, p95, cost].")
@click.option(
    "--metric",
    "metric",
    multiple=True,
    metavar="M",
    help="One more metric to judge, e.g. score.helpfulness (a score's per-task mean). Repeatable; "
    "with --metrics, judged beside them, alone, instead of the default set.",
)
@click.option(
    "--tolerance",
    "tolerances",
    multiple=True,
    metavar="METRIC=X",
    help="How much worse METRIC may be before the gate fails: X in its unit (0.02 = 2 points of a rate, "
    "ms for latency) or X% of the baseline's value. Repeatable.",
)
@click.option("--service", help="Only tasks whose root span has this service.name.")
@click.option(
    "--min-samples",
    type=click.IntRange(min=2),
    help="Tasks (and units of each metric) each version needs before a metric is judged [default: 20].",
)
@click.option(
    "--kill-on-fail",
    is_flag=True,
    help="When the gate fails, flip the canary version's kill switch (needs an admin key in TRACEREEL_API_KEY).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@collector_option
def command(
    agent: str,
    canary: str,
    baseline: str,
    window: float,
    metrics: str | None,
    metric: tuple[str, ...],
    tolerances: tuple[str, ...],
    service: str | None,
    min_samples: int | None,
    kill_on_fail: bool,
    as_json: bool,
    collector: str,
) -> None:
    """Compare the CANARY version of an agent with the BASELINE over the last --window, with statistics.

    Each metric is better, worse, no_difference, insufficient_data or not_applicable (rates: the
    two-proportion score test; latency percentiles and cost per success: a bootstrap, cost per success
    from 10,000 successful tasks per version its normal approximation), one-sided,
    corrected for the number of metrics (weighted Bonferroni, half of alpha on task success), with
    its interval at the same level. Exit 0 promote, 1 fail, 2 inconclusive, 3 could not run (also
    when --kill-on-fail could not flip the switch of a failed canary). See docs/gates.md.
    """
    end = time.time()
    client = CollectorClient(collector)
    with collector_errors():
        answer = client.compare(
            agent,
            baseline,
            canary,
            metrics=_metric_keys(metrics, metric),
            tolerances=list(tolerances),
            min_samples=min_samples,
            start=f"{end - window:.3f}",
            end=f"{end:.3f}",
            service=service,
        )
    printed: dict[str, Any] = answer.model_dump(mode="json", by_alias=True)
    kill_error = None
    if kill_on_fail and answer.verdict == "fail":
        try:
            reason = f"tracereel gate: {answer.message}"
            killed = client.kill(agent, version=canary, service=service or "", reason=reason[:500])
            printed["killed"] = killed.model_dump(mode="json")
        except CollectorError as exc:
            kill_error = f"the gate failed, but the canary's kill switch could not be flipped: {exc}"
    if as_json:
        click.echo(json.dumps(printed, indent=2))
    else:
        _print_report(answer)
        if "killed" in printed:
            undo = f"tracereel revive {agent} --version {canary}" + (f" --service {service}" if service else "")
            click.echo(f"killed {agent} {canary}: agents running it now stop; `{undo}` undoes it")
    if kill_error is not None:
        raise click.ClickException(kill_error)
    click.get_current_context().exit(EXIT_CODES[answer.verdict])
