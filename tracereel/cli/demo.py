"""``tracereel demo``: fill a collector with traces from the built-in demo agent system."""

from __future__ import annotations

import click

__all__ = ["command"]


@click.command("demo")
@click.option(
    "--endpoint",
    envvar="TRACEREEL_ENDPOINT",
    default="http://127.0.0.1:4318",
    show_default=True,
    show_envvar=True,
    help="The collector to send the traces to.",
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
@click.option("--api-key", envvar="TRACEREEL_API_KEY", show_envvar=True, help="Bearer token for the collector.")
def command(
    endpoint: str, tasks: int, seed: int, spread_hours: float, time_scale: float | None, api_key: str | None
) -> None:
    """Run the demo agent system (a supervisor and its specialists, offline) and send its traces."""
    from tracereel.demo import DemoError, run_demo

    try:
        result = run_demo(
            endpoint,
            tasks=tasks,
            seed=seed,
            spread_hours=spread_hours,
            time_scale=time_scale,
            api_key=api_key,
            progress=click.echo,
        )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.summary())
