"""``tracereel demo``: fill a collector with traces from the built-in demo agent system."""

from __future__ import annotations

import click

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
def command(
    endpoint: str | None, tasks: int, seed: int, spread_hours: float, time_scale: float | None, api_key: str | None
) -> None:
    """Run the demo agent system (a supervisor and its specialists, offline) and send its traces."""
    from tracereel.demo import DemoError, run_demo
    from tracereel.sdk.settings import ConfigError, collector_endpoint

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
    click.echo(result.summary())
