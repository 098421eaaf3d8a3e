"""Starting a collector from the CLI: settings from options, one clear line on failure."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

__all__ = ["REDACT_HELP", "load_settings", "monitor_interval_option", "retention_option", "run_collector"]

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


def run_collector(settings: Any, *, on_started: Any = None) -> None:
    """Open the store, serve the collector until interrupted, then drain and close the store."""
    import uvicorn

    from tracereel.collector import RedactionError, Store, StoreError, create_app

    try:
        store = Store.open(settings.store, retention_days=settings.retention_days)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        try:
            app = create_app(settings, store)
        except RedactionError as exc:
            raise click.ClickException(str(exc)) from None
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        kept = f"{settings.retention_days} days" if settings.retention_days else "forever"
        click.echo(
            f"tracereel collector on http://{settings.host}:{settings.port} (store: {store.display_url}, kept {kept})"
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
