"""``tracereel demo``: fill a collector with traces from the built-in demo agent system."""

from __future__ import annotations

import click

from tracereel.demo import DemoError, DemoResult, run_demo
from tracereel.demo.feedback import add_feedback
from tracereel.demo.golden import run_golden, write_golden
from tracereel.demo.online import add_online_rule
from tracereel.demo.review import add_demo_queue
from tracereel.sdk.settings import ConfigError, collector_endpoint

__all__ = ["command"]


@click.command("demo")
@click.option(
    "--endpoint",
    metavar="URL",
    help="The collector to send the traces to [default: TRACEREEL_ENDPOINT, else http://127.0.0.1:4318].",
)
@click.option("--tasks", type=click.IntRange(min=1), default=200, show_default=True, help="How many tasks to run.")
@click.option("--seed", type=int, default=42, show_default=True, help="The same seed gives the same workload.")
@click.option(
    "--spread-hours",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="Spread the traces over this many past hours; 0 keeps their real times.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    help="Stretch span durations by this factor [default: 300 when spreading, else 1].",
)
@click.option("--api-key", help="Bearer token for the collector [default: TRACEREEL_API_KEY].")
@click.option(
    "--golden",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Then write DIR/golden.yaml from stable runs and evaluate it for the stable and the canary.",
)
def command(
    endpoint: str | None,
    tasks: int,
    seed: int,
    spread_hours: float,
    time_scale: float | None,
    api_key: str | None,
    golden: str | None,
) -> None:
    """Run the demo agent system (a supervisor and its specialists, offline) and send its traces."""

    try:
        result = run_demo(
            collector_endpoint(endpoint),
            tasks=tasks,
            seed=seed,
            spread_hours=spread_hours,
            time_scale=time_scale,
            api_key=api_key,
            progress=click.echo,
        )
    except (DemoError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    # The production loop's parts first, then what was sent: the summary and its users' feedback last.
    click.echo(add_demo_queue(result.endpoint, api_key))
    add_online_rule(result.endpoint, api_key=api_key, progress=click.echo)
    click.echo(result.summary())
    click.echo(add_feedback(result, api_key))
    if golden is not None:
        _golden(result, golden, api_key)


def _golden(result: DemoResult, directory: str, api_key: str | None) -> None:
    """Write and evaluate the demo's golden set; any failure is one warning line, never an error."""

    try:
        file = write_golden(result, directory, api_key=api_key)
        click.echo(f"tracereel demo: golden set written to {file}")
        for run in run_golden(file, result.endpoint, api_key=api_key):
            click.echo(run.line())
    except Exception as exc:  # the traces are sent; this extra must not fail the demo
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"warning: the demo's golden set was not evaluated: {detail}", err=True)
