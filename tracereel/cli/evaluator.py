"""``tracereel evaluator``: the worker that runs the online rules' scorers on finished traces (docs/online.md)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from tracereel.cli._errors import CannotRun, collector_errors
from tracereel.cli._traces import collector_option
from tracereel.client import CollectorClient
from tracereel.online import parse_shard

__all__ = ["command"]


def _shard(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("evaluator")
@click.option("--once", is_flag=True, help="One pass: score every pending trace, print the status line and exit.")
@click.option(
    "--shard",
    default="0/1",
    show_default=True,
    metavar="K/N",
    callback=_shard,
    help="Take only the traces that hash to K of N: N evaluators split the work.",
)
@click.option(
    "--settle",
    type=click.FloatRange(0, 600),
    default=1.0,
    show_default=True,
    help="Seconds a trace must have ended before it is scored (late child spans arrive meanwhile).",
)
@click.option("--poll", type=click.FloatRange(0.05, 60), default=0.5, show_default=True, help="Seconds between passes.")
@collector_option
def command(once: bool, shard: tuple[int, int], settle: float, poll: float, collector: str) -> None:
    """Run the online rules' scorers on finished, sampled traces and post their scores (docs/online.md)."""
    from tracereel.evals.online import Evaluator

    def status(line: str) -> None:
        click.echo(line, err=True)

    evaluator = Evaluator(CollectorClient(collector), shard=shard, settle=settle, status=status)
    if once:
        with collector_errors():
            progress = evaluator.run_once()
        click.echo(progress.line())
        return
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"tracereel evaluator: scoring for {collector} (shard {shard[0]}/{shard[1]})", err=True)
    try:
        evaluator.run(stop, poll=poll)
    except Exception as exc:  # never a traceback: one line, exit 2
        raise CannotRun(f"the evaluator stopped: {type(exc).__name__}: {exc}") from None
    click.echo(evaluator.progress.line(), err=True)
