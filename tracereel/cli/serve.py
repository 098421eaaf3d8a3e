"""``tracereel serve``: run the collector."""

from __future__ import annotations

from typing import Any

import click

from tracereel.cli._collector import (
    REDACT_HELP,
    cluster_option,
    ingest_options,
    insecure_option,
    load_settings,
    monitor_interval_option,
    retention_option,
    run_collector,
)

__all__ = ["command"]


@click.command("serve")
@click.option("--host", help="Address to bind [env: TRACEREEL_HOST; default: 127.0.0.1].")
@click.option("--port", type=int, help="Port for OTLP/HTTP and the read API [env: TRACEREEL_PORT; default: 4318].")
@click.option("--store", help="chdb:///dir or http(s)://user:pass@host:8123/db [env: TRACEREEL_STORE].")
@retention_option
@cluster_option
@click.option("--redact", metavar="default|off|FILE", help=REDACT_HELP)
@monitor_interval_option
@ingest_options
@insecure_option
def command(host: str | None, port: int | None, store: str | None, insecure_no_auth: bool, **options: Any) -> None:
    """Run the collector: OTLP/HTTP on :4318 (and the read API), OTLP/gRPC on :4317.

    OTLP/HTTP takes spans on /v1/traces and the read API answers on /api/v1 (both on --port);
    OTLP/gRPC listens on --grpc-port. Auth is on once a key exists or TRACEREEL_ADMIN_KEY is set
    (docs/security.md); with auth off, only a loopback address is allowed unless --insecure-no-auth.
    """
    run_collector(load_settings(host=host, port=port, store=store, **options), insecure_no_auth=insecure_no_auth)
