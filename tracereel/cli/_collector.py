"""Starting a collector from the CLI: settings from options, one clear line on failure."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

__all__ = [
    "REDACT_HELP",
    "cluster_option",
    "ingest_options",
    "insecure_option",
    "is_loopback",
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


def _check_grpc_port(settings: Any) -> None:
    import socket

    if not settings.grpc_port:
        return
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        try:
            probe.bind((settings.host, settings.grpc_port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen for OTLP/gRPC on {settings.host}:{settings.grpc_port} ({exc.strerror}): "
                "pass --grpc-port N, or --grpc-port 0 to turn gRPC off"
            ) from None


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


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
        raise click.ClickException(
            f"the collector needs the server extra ({exc.name} is missing): pip install 'tracereel[server]'"
        ) from None
    try:
        return CollectorSettings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "setting"
        raise click.ClickException(f"--{field.replace('_', '-')} / TRACEREEL_{field.upper()}: {first['msg']}") from None


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def run_collector(settings: Any, *, on_started: Any = None, insecure_no_auth: bool = False) -> None:
    """Open the store, serve the collector until interrupted, then drain and close the store.

    With auth off (no key in the store, no admin key set), a non-loopback ``settings.host`` is
    refused unless ``insecure_no_auth``.
    """
    import uvicorn

    from tracereel.collector import RedactionError, Store, StoreError, create_app
    from tracereel.collector.ingest import WriteAheadLog

    _check_grpc_port(settings)
    try:
        store = Store.open(settings.store, retention_days=settings.retention_days, cluster=settings.cluster)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        # Opened here, not in the app's lifespan, so "in use by another collector" is one line.
        log = WriteAheadLog(settings.resolved_wal_dir(), max_bytes=settings.wal_max_bytes)
        try:
            log.open()
        except OSError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            app = create_app(settings, store, log=log)
        except RedactionError as exc:
            log.close()
            raise click.ClickException(str(exc)) from None
        if not app.state.keys.auth_on and not is_loopback(settings.host) and not insecure_no_auth:
            raise click.ClickException(
                f"refusing to listen on {settings.host} with auth off: anyone who can reach it could read and "
                "write every trace. Turn auth on by setting TRACEREEL_ADMIN_KEY (then create keys with "
                "`tracereel keys create`), or pass --insecure-no-auth."
            )
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        kept = f"{settings.retention_days} days" if settings.retention_days else "forever"
        grpc = f", OTLP/gRPC on {settings.host}:{settings.grpc_port}" if settings.grpc_port else ""
        on = f", cluster {settings.cluster}" if settings.cluster else ""
        click.echo(
            f"tracereel collector on http://{settings.host}:{settings.port}{grpc} "
            f"(store: {store.display_url}{on}, kept {kept}; write-ahead log: {log.directory})"
        )
        if on_started is not None:
            on_started(server)
        # uvicorn drains on SIGINT/SIGTERM, then re-raises the signal: after a clean drain,
        # Ctrl-C or a container stop is a normal exit, not "Aborted!" with status 1.
        previous = signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        click.echo("tracereel collector stopped")
        if not server.started:
            raise click.ClickException(
                f"could not listen on {settings.host}:{settings.port} (is another collector running there?)"
            )
    finally:
        store.close()
