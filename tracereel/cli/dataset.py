"""``tracereel dataset``: golden sets from recorded runs (``add``), from reviewed traces (``add-reviewed``),
from failure clusters (``add-cluster``), and their coverage by tag (``show``)."""

from __future__ import annotations

import json
from typing import Any

import click

from tracereel.cli._traces import CannotRun, collector_option

__all__ = ["command"]


@click.group("dataset")
def command() -> None:
    """Golden sets: cases made from recorded runs, reviewed like code (see docs/evals.md)."""


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise CannotRun(f"--tag {text!r}: expected KEY=VALUE, e.g. topic=refunds")
        out[key.strip()] = value.strip()
    return out


@command.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("trace_id")
@click.option("--expected", metavar="JSON", help="The right answer (JSON; text that is not JSON is a string).")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="topic=..., style=..., persona=...")
@click.option("--id", "case_id", metavar="ID", help="The case id [default: AGENT-TRACEID8].")
@collector_option
def add(
    file: str, trace_id: str, expected: str | None, tags: tuple[str, ...], case_id: str | None, collector: str
) -> None:
    """Append a case made from TRACE_ID to FILE (created if missing): the recorded input, the
    recorded output as expected (unless --expected), the trace saved under traces/ beside FILE."""
    from tracereel.client import CollectorClient
    from tracereel.evals.dataset import DatasetError, add_case

    value = _expected(expected)
    try:
        case = add_case(
            file, trace_id, expected=value, tags=_tags(tags), case_id=case_id, client=CollectorClient(collector)
        )
    except DatasetError as exc:
        raise CannotRun(str(exc)) from None
    click.echo(f"added case {case.id} to {file} (trace {case.trace})")


@command.command("add-reviewed")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--queue", required=True, metavar="NAME", help="The review queue whose verdicts become cases.")
@collector_option
def add_reviewed_cases(file: str, queue: str, collector: str) -> None:
    """Append a case to FILE for each trace reviewed in the queue NAME (docs/review.md): the recorded input,
    the reviewer's expected value, the trace saved under traces/ beside FILE. Traces already in FILE are skipped."""
    from tracereel.client import CollectorClient
    from tracereel.evals.dataset import DatasetError
    from tracereel.evals.reviewed import add_reviewed

    try:
        done = add_reviewed(file, queue, client=CollectorClient(collector))
    except DatasetError as exc:
        raise CannotRun(str(exc)) from None
    for case in done.added:
        click.echo(f"added case {case.id} to {file} (trace {case.trace})")
    for trace_id, why in done.skipped.items():
        click.echo(f"skipped trace {trace_id}: {why}")
    click.echo(f"{len(done.added)} case(s) added from review queue {queue}, {len(done.skipped)} skipped")


@command.command("add-cluster")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("cluster_id")
@click.option("--max", "max_cases", type=click.IntRange(1, 100), default=10, show_default=True, help="At most N cases.")
@click.option(
    "--window", default="7d", show_default=True, help="Find the cluster among the failures of the last --window."
)
@click.option("--expected", metavar="JSON", help="The right answer for every case [default: null, to fill in].")
@collector_option
def add_cluster(file: str, cluster_id: str, max_cases: int, window: str, expected: str | None, collector: str) -> None:
    """Append a case for each example trace of failure cluster CLUSTER_ID (newest first) to FILE,
    tagged cluster=ID, each trace saved under traces/ beside FILE; expected is null unless --expected."""
    from tracereel.cli._errors import collector_errors
    from tracereel.client import CollectorClient
    from tracereel.evals.clusters import add_cluster as add
    from tracereel.evals.dataset import DatasetError

    value = _expected(expected)
    try:
        with collector_errors():
            cases = add(
                file, cluster_id, max_cases=max_cases, window=window, expected=value, client=CollectorClient(collector)
            )
    except DatasetError as exc:
        raise CannotRun(str(exc)) from None
    for case in cases:
        click.echo(f"added case {case.id} to {file} (trace {case.trace})")
    click.echo(f"{len(cases)} case(s) from cluster {cluster_id} added to {file}")


def _expected(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@command.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the cases and the coverage as JSON.")
def show(file: str, as_json: bool) -> None:
    """Print FILE's cases and their coverage by tag (topic / style / persona and any other tag)."""
    from rich.console import Console
    from rich.table import Table

    from tracereel.evals.dataset import DatasetError, coverage, load_dataset

    try:
        dataset = load_dataset(file)
    except DatasetError as exc:
        raise CannotRun(str(exc)) from None
    cover = coverage(dataset)
    if as_json:
        cases = [
            {"id": c.id, "tags": c.tags, "trace": c.trace, "input": c.input, "expected": c.expected}
            for c in dataset.cases
        ]
        click.echo(json.dumps({"dataset": dataset.name, "cases": cases, "coverage": cover}, indent=2, default=str))
        return
    console = Console(soft_wrap=True, highlight=False)
    console.print(f"[bold]{dataset.name}[/bold]: {len(dataset.cases)} case(s) in {file}")
    table = Table("id", "tags", "trace", "input")
    for case in dataset.cases:
        tags = ", ".join(f"{k}={v}" for k, v in case.tags.items())
        text = json.dumps(case.input, ensure_ascii=False, default=str)
        table.add_row(case.id, tags, case.trace or "(live)", text if len(text) < 60 else text[:57] + "...")
    console.print(table)
    coverage_table = Table("tag", "value", "cases", title="coverage")
    for key, counts in cover.items():
        for value, count in counts.items():
            style = "yellow" if value == "(none)" else ""
            coverage_table.add_row(key, f"[{style}]{value}[/{style}]" if style else value, str(count))
    console.print(coverage_table)
