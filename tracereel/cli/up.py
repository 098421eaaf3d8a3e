"""``tracereel up``: the collector on the embedded store, the dashboard and (optionally) the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
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
from tracereel.client import CollectorClient

__all__ = ["command"]


def golden_dir(store: str) -> Path:
    """Where ``up --demo`` writes the demo's golden set: ``demo-golden/`` beside an embedded store's
    directory (by default ``$XDG_DATA_HOME/tracereel/demo-golden``, else ``~/.local/share/...``);
    under the user's data dir for a ClickHouse server store."""
    if store.startswith("chdb:"):
        return Path("/" + store[len("chdb:") :].lstrip("/")).parent / "demo-golden"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracereel" / "demo-golden"


@click.command("up")
@click.option("--port", type=int, help="Collector port [env: TRACEREEL_PORT; default: 4318].")
@click.option("--store", help="Store URL [env: TRACEREEL_STORE; default: embedded chDB under your data dir].")
@click.option("--dashboard-port", type=int, default=8501, show_default=True, help="Dashboard port.")
@click.option("--no-dashboard", is_flag=True, help="Run the collector only.")
@click.option("--demo", is_flag=True, help="Fill the store with traces from the built-in demo agent system.")
@retention_option
@cluster_option
@click.option("--redact", metavar="default|off|FILE", help=REDACT_HELP)
@ingest_options
@insecure_option
@monitor_interval_option
def command(
    port: int | None,
    store: str | None,
    dashboard_port: int,
    no_dashboard: bool,
    demo: bool,
    insecure_no_auth: bool,
    **options: Any,
) -> None:
    """Run tracereel on this machine: the collector on 127.0.0.1, the dashboard, and the demo if asked."""
    settings = load_settings(port=port, store=store, **options)
    url = f"http://{settings.host}:{settings.port}"
    children: list[subprocess.Popen[Any]] = []

    def start_children() -> None:
        if not CollectorClient(url, timeout=2).wait_healthy(timeout=60):
            click.echo("tracereel up: the collector did not become healthy; not starting the rest", err=True)
            return
        if not no_dashboard:
            argv = [sys.executable, "-m", "tracereel", "dashboard", "--collector", url, "--port", str(dashboard_port)]
            children.append(subprocess.Popen(argv))
            click.echo(f"tracereel dashboard on http://127.0.0.1:{dashboard_port}")
        # The online rules' scorers run in a process of their own, never in the collector.
        argv = [sys.executable, "-m", "tracereel", "evaluator", "--collector", url]
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        env = {**os.environ, "TRACEREEL_API_KEY": admin} if admin else None
        children.append(subprocess.Popen(argv, env=env))
        click.echo("tracereel evaluator: scoring the online rules (tracereel online list)")
        if demo:
            golden = str(golden_dir(settings.store))
            argv = [sys.executable, "-m", "tracereel", "demo", "--endpoint", url, "--golden", golden]
            children.append(subprocess.Popen(argv))

    threading.Thread(target=start_children, name="tracereel-up", daemon=True).start()
    try:
        run_collector(settings, insecure_no_auth=insecure_no_auth)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
