"""The options of ``serve`` and ``up``, the settings they make, and the collector's start as one line on failure.

What running the collector means lives in :func:`tracereel.collector.serve`; this module parses and prints.
"""

from __future__ import annotations

from typing import Any

import click

from tracereel.cli._errors import CannotRun

__all__ = [
    "REDACT_HELP",
    "cluster_option",
    "ingest_options",
    "insecure_option",
    "load_settings",
    "monitor_interval_option",
    "retention_option",
    "run_collector",
]

REDACT_HELP = (
    "Redact PII and secrets before storage: 'default', 'off', or a TOML file of extra [[rules]] "
    "[env: TRACEREEL_REDACT; default: default]."
)


def retention_option(func: Any) -> Any:
    """``--retention-days N``, shared by ``serve`` and ``up`` (both open the store, which applies it)."""
    return click.option(
        "--retention-days",
        type=click.IntRange(min=1),
        metavar="N",
        help="Keep N days of data in every table, then drop it (a TTL) [env: TRACEREEL_RETENTION_DAYS; "
        "default: keep forever; an existing TTL is removed].",
    )(func)


def ingest_options(func: Any) -> Any:
    """``--grpc-port``, ``--wal-dir``, ``--wal-max-bytes``, ``--drain-interval``, shared by ``serve`` and ``up``."""
    func = click.option(
        "--drain-interval",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help="At most one insert into the store per SECONDS under load: smaller stores spans sooner for more CPU "
        "(docs/ingest.md) [env: TRACEREEL_DRAIN_INTERVAL; default: 1].",
    )(func)
    func = click.option(
        "--wal-max-bytes",
        type=click.IntRange(min=1),
        metavar="BYTES",
        help="Bytes the write-ahead log may hold while the store is slow or down; past them the collector "
        "answers 503 [env: TRACEREEL_WAL_MAX_BYTES; default: 1 GiB].",
    )(func)
    func = click.option(
        "--wal-dir",
        metavar="DIR",
        help="Write-ahead log directory [env: TRACEREEL_WAL_DIR; default: <store dir>.wal for the embedded "
        "store, else under your data dir].",
    )(func)
    return click.option(
        "--grpc-port",
        type=click.IntRange(0, 65535),
        help="Port for OTLP/gRPC; 0 turns it off [env: TRACEREEL_GRPC_PORT; default: 4317].",
    )(func)


def cluster_option(func: Any) -> Any:
    """``--cluster NAME``, shared by ``serve`` and ``up``: the ClickHouse cluster the store's tables are laid out on."""
    return click.option(
        "--cluster",
        metavar="NAME",
        help="Create the schema for the ClickHouse cluster NAME: replicated local tables, Distributed tables, "
        "DDL ON CLUSTER; needs an http(s):// store [env: TRACEREEL_CLUSTER; default: one node].",
    )(func)


def insecure_option(func: Any) -> Any:
    """``--insecure-no-auth``, shared by ``serve`` and ``up``: allow a non-loopback address with auth off."""
    return click.option(
        "--insecure-no-auth",
        is_flag=True,
        help="Listen on a non-loopback address even though auth is off (no key in the store, no "
        "TRACEREEL_ADMIN_KEY): anyone who can reach it can read and write everything.",
    )(func)


def monitor_interval_option(func: Any) -> Any:
    """``--monitor-interval SECONDS``, shared by ``serve`` and ``up``."""
    return click.option(
        "--monitor-interval",
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="Evaluate every monitor this often; 0 turns monitors off [env: TRACEREEL_MONITOR_INTERVAL; default: 60].",
    )(func)


def load_settings(**options: Any) -> Any:
    """CollectorSettings from the given options (None = not given) over env vars and defaults."""
    try:
        from pydantic import ValidationError

        from tracereel.collector.settings import CollectorSettings
    except ImportError as exc:
        raise CannotRun(
            f"the collector needs the server extra ({exc.name} is missing): pip install 'tracereel[server]'"
        ) from None
    try:
        return CollectorSettings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "setting"
        raise CannotRun(f"--{field.replace('_', '-')} / TRACEREEL_{field.upper()}: {first['msg']}") from None


def run_collector(settings: Any, *, insecure_no_auth: bool = False) -> None:
    """Serve the collector (:func:`tracereel.collector.serve`), printing where it listens; a failure to
    start is one line and exit 2."""
    from tracereel.collector import ServeError, serve  # the server extra: load_settings checked it is there

    try:
        serve(settings, insecure_no_auth=insecure_no_auth, on_listening=lambda where: click.echo(where.describe()))
    except ServeError as exc:
        raise CannotRun(str(exc)) from None
    click.echo("tracereel collector stopped")
