"""``tracereel schema``: print the store's DDL, for one node or a ClickHouse cluster, to review or apply by hand."""

from __future__ import annotations

import click

from tracereel.cli._collector import load_settings

__all__ = ["command"]


@click.command("schema")
@click.option(
    "--cluster",
    metavar="NAME",
    help="The DDL for the ClickHouse cluster NAME (replicated local tables, Distributed tables, ON CLUSTER) "
    "[env: TRACEREEL_CLUSTER; default: one node].",
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    metavar="N",
    help="Also print the TTLs that keep N days in every table [env: TRACEREEL_RETENTION_DAYS].",
)
def command(cluster: str | None, retention_days: int | None) -> None:
    """Print every statement the collector runs on an empty database, in order, each ending with ';'.

    The output is what `tracereel serve` (with the same --cluster) applies when it opens the
    store, including the rows recording each migration, so a collector started afterwards finds
    the schema applied. Apply it with e.g. `clickhouse-client --multiquery < schema.sql`.
    """
    settings = load_settings(cluster=cluster, retention_days=retention_days)
    # After load_settings, which says in one line when the server extra is missing.
    from tracereel.collector.store import ClusterLayoutError, Layout, schema_script

    try:
        layout = Layout(settings.cluster)
        script = schema_script(layout, settings.retention_days)
    except ClusterLayoutError as exc:
        raise click.ClickException(str(exc)) from None
    where = f"the ClickHouse cluster {layout.cluster}" if layout.cluster else "one node"
    click.echo(f"-- tracereel schema for {where}")
    for title, statements in script:
        click.echo(f"\n-- {title}")
        for statement in statements:
            click.echo(f"{statement};")
