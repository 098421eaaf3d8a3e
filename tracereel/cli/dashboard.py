"""``tracereel dashboard``: serve the Streamlit dashboard, reading from a collector over HTTP."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import click

from tracereel.cli._traces import collector_option

__all__ = ["command"]


@click.command("dashboard")
@collector_option
@click.option("--port", type=int, default=8501, show_default=True, help="Port for the dashboard.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; 0.0.0.0 inside a container whose published port decides who sees it.",
)
def command(collector: str, port: int, host: str) -> None:
    """Serve the dashboard (Overview, Traces, Evaluations, Failures, Review, ...) on http://HOST:PORT."""
    if importlib.util.find_spec("streamlit") is None:
        raise click.ClickException(
            "the dashboard needs the dashboard extra (streamlit is missing): pip install 'tracereel[dashboard]'"
        )
    # The app file, found without importing it (importing would run the Streamlit script here).
    spec = importlib.util.find_spec("tracereel.dashboard")
    assert spec is not None and spec.origin is not None
    app = Path(spec.origin).parent / "app.py"
    env = {**os.environ, "TRACEREEL_ENDPOINT": collector}
    argv = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    click.echo(f"tracereel dashboard on http://{host}:{port} (collector: {collector})")
    sys.stdout.flush()
    if os.name == "posix":
        # Become streamlit, so a signal to this process (``tracereel up`` stopping its children, a
        # container stop) reaches the server itself instead of leaving it running as an orphan.
        os.execve(sys.executable, argv, env)
    code = subprocess.call(argv, env=env)
    if code != 0:
        raise click.ClickException(f"streamlit exited with status {code} (is port {port} already in use?)")
