"""``tracereel online add|list|remove``: rules that score sampled production traces (docs/online.md)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tracereel.cli._errors import CannotRun, ask_collector
from tracereel.cli._traces import collector_option
from tracereel.contracts.online import RuleDefinition, RuleView, RuleWithProgress

__all__ = ["command"]

_ADMIN = "adding and removing rules needs an admin key in TRACEREEL_API_KEY"


@click.group("online")
def command() -> None:
    """Online evaluation: rules whose scorers `tracereel evaluator` runs on sampled production traces
    (docs/online.md)."""


def _problems(exc: ValidationError) -> str:
    """A definition's problems in one line, each naming its option."""
    out: list[str] = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = str(error["msg"]).removeprefix("Value error, ")
        if not where and re.match(r"^[a-z_]+: ", message):
            message = f"--{message}"
        out.append(f"--{where.removesuffix('s') if where == 'scorers' else where}: {message}" if where else message)
    return "; ".join(out)


def definition(
    name: str,
    scorers: tuple[str, ...],
    agent: str | None,
    version: str | None,
    sample: float,
    rubric: str | None,
    backfill: str = "0",
) -> RuleDefinition:
    """The rule the options describe, checked as the collector will check it, and each built-in scorer's
    options checked as the evaluator will bind them; :class:`CannotRun` naming the problem."""
    from tracereel.evals.online.scoring import builtin_problem

    try:
        rule = RuleDefinition.model_validate(
            {
                "name": name,
                "scorers": list(scorers),
                "agent": agent,
                "version": version,
                "sample": sample,
                "backfill": backfill,
            }
            | ({"rubric": rubric} if rubric is not None else {})
        )
    except ValidationError as exc:
        raise CannotRun(_problems(exc)) from None
    view = RuleView(**rule.model_dump(), team="", created_at=datetime.now(timezone.utc).isoformat())
    problem = builtin_problem(view)
    if problem:
        raise CannotRun(f"--scorer: {problem}")
    return rule


@command.command("add")
@click.argument("name")
@click.option(
    "--scorer",
    "scorers",
    multiple=True,
    required=True,
    metavar="S",
    help="groundedness, llm_judge, max_steps=8, tool_not_called=NAME, escalated, ... or module:func (repeatable).",
)
@click.option("--agent", metavar="GLOB", help="Only traces whose root agent matches this glob.")
@click.option("--version", help="Only traces of this agent version (needs --agent).")
@click.option("--sample", type=float, default=0.1, show_default=True, help="The share of traces scored, in (0, 1].")
@click.option("--rubric", metavar="TEXT", help="What llm_judge asks the judge to check (needed by llm_judge).")
@click.option(
    "--backfill",
    default="0",
    show_default=True,
    help="Also score traces that ended up to this long before the rule was added: 1h, 1d, ... (at most 30d).",
)
@collector_option
def add(
    name: str,
    scorers: tuple[str, ...],
    agent: str | None,
    version: str | None,
    sample: float,
    rubric: str | None,
    backfill: str,
    collector: str,
) -> None:
    """Add the online rule NAME (needs an admin key when the collector has keys)."""
    rule = definition(name, scorers, agent, version, sample, rubric, backfill)
    stored = ask_collector(collector, lambda c: c.add_online_rule(rule), forbidden=_ADMIN)
    click.echo(
        f"added online rule {stored.name}: {', '.join(stored.scorers)} on {stored.sample:g} of the traces of "
        f"{stored.agent or 'every agent'}{f' version {stored.version}' if stored.version else ''}"
    )


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules and their progress as JSON.")
@collector_option
def list_(as_json: bool, collector: str) -> None:
    """List the online rules with their progress: traces scored, errors, pending and lag."""
    rules: list[RuleWithProgress] = ask_collector(collector, lambda c: c.online_rules())
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rules], indent=2))
        return
    if not rules:
        click.echo("no online rules; add one with `tracereel online add NAME --scorer groundedness --sample 0.1`")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "scorers", "agent", "sample", "scored", "errors", "pending", "lag"):
        table.add_column(column)
    for r in rules:
        p = r.progress
        table.add_row(
            r.name,
            ", ".join(r.scorers),
            f"{r.agent or '*'}{f' v{r.version}' if r.version else ''}",
            f"{r.sample:g}",
            str(p.scored if p else "-"),
            str(p.errors if p else "-"),
            str(p.pending if p else "-"),
            f"{p.lag_seconds:.1f}s" if p else "-",
        )
    Console(width=200).print(table)


@command.command("remove")
@click.argument("name")
@collector_option
def remove(name: str, collector: str) -> None:
    """Remove the online rule NAME: nothing more is scored for it; its scores stay."""
    ask_collector(collector, lambda c: c.remove_online_rule(name), forbidden=_ADMIN)
    click.echo(f"removed online rule {name}")
