"""Running the collector as a process: open the store and the write-ahead log, bind both ports, serve, close.

``tracereel serve`` and ``tracereel up`` call :func:`serve`; tests and embedders can too. Every
expected failure (store locked or unreachable, log in use, bad redaction rules, a port taken) is a
:class:`ServeError` with one line for a person, raised before anything is served.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import uvicorn
from fastapi import FastAPI

from tracereel.collector.api.otlp_grpc import OTLPGrpcServer
from tracereel.collector.app import create_app
from tracereel.collector.control import RedactionError
from tracereel.collector.ingest import WriteAheadLog
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store, StoreError

__all__ = ["Listening", "ServeError", "is_loopback", "serve"]


class ServeError(Exception):
    """The collector cannot start; the message is one line that says why and what to change."""


@dataclass(frozen=True)
class Listening:
    """Where a started collector listens and what it serves from."""

    http_url: str
    grpc_address: str | None  # None: OTLP/gRPC is off
    store: str
    cluster: str | None
    retention_days: int | None
    wal_dir: str

    def describe(self) -> str:
        """One line for people: both ports, the store, how long data is kept, the log."""
        grpc = f"OTLP/gRPC on {self.grpc_address}" if self.grpc_address else "OTLP/gRPC off (--grpc-port 0)"
        on = f", cluster {self.cluster}" if self.cluster else ""
        kept = f"{self.retention_days} days" if self.retention_days else "forever"
        return (
            f"tracereel collector on {self.http_url} (OTLP/HTTP and the API), {grpc} "
            f"(store: {self.store}{on}, kept {kept}; write-ahead log: {self.wal_dir})"
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _in_use(host: str, port: int, what: str, option: str, exc: OSError | None) -> ServeError:
    reason = "already in use" if exc is None or exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return ServeError(f"cannot listen for {what} on {host}:{port} ({reason}): pass {option}")


def _bind_http(host: str, port: int) -> socket.socket:
    """The HTTP port, bound before uvicorn starts, so a taken port is one line rather than uvicorn's log."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    # As uvicorn binds: a restarted collector can take its port back while old connections linger.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise _in_use(host, port, "OTLP/HTTP and the API", "--port N (TRACEREEL_PORT)", exc) from None
    return sock


@contextmanager
def _stderr_lines() -> Generator[list[str], None, None]:
    """Capture what is written to file descriptor 2 in the block (C libraries too); the lines after it."""
    sys.stderr.flush()
    saved = os.dup(2)
    lines: list[str] = []
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines += capture.read().decode("utf-8", "replace").splitlines()


def _bind_grpc(grpc: OTLPGrpcServer, host: str, port: int) -> None:
    # grpc's C core logs a failed bind to stderr itself; that report is replaced by our one line.
    failed = False
    with _stderr_lines() as said:
        try:
            grpc.bind()
        except OSError:
            failed = True
    for line in said:
        if not (failed and "add_port" in line):
            print(line, file=sys.stderr)
    if failed:
        # grpc does not say why; a bind of our own does, and finds the port free only in a race.
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind((host.strip("[]"), port))
            cause = None
        except OSError as exc:
            cause = exc
        finally:
            probe.close()
        option = "--grpc-port N (TRACEREEL_GRPC_PORT), or --grpc-port 0 to turn gRPC off"
        raise _in_use(host, port, "OTLP/gRPC", option, cause) from None


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(
    settings: CollectorSettings,
    *,
    insecure_no_auth: bool = False,
    on_listening: Callable[[Listening], None] | None = None,
) -> None:
    """Open the store, serve the collector until SIGINT or SIGTERM, then drain and close the store.

    ``on_listening`` is called once both ports are bound, just before requests are taken. With
    auth off (no key in the store, no admin key set), a non-loopback ``settings.host`` is refused
    unless ``insecure_no_auth``. Raises :class:`ServeError` for every expected failure.
    """
    try:
        store = Store.open(settings.store, retention_days=settings.retention_days, cluster=settings.cluster)
    except StoreError as exc:
        raise ServeError(str(exc)) from None
    try:
        # Opened here, not in the app's lifespan, so "in use by another collector" is one line.
        log = WriteAheadLog(settings.resolved_wal_dir(), max_bytes=settings.wal_max_bytes)
        try:
            log.open()
        except OSError as exc:
            raise ServeError(str(exc)) from None
        try:
            app = create_app(settings, store, log=log)
        except RedactionError as exc:
            log.close()
            raise ServeError(str(exc)) from None
        if not app.state.keys.auth_on and not is_loopback(settings.host) and not insecure_no_auth:
            log.close()
            raise ServeError(
                f"refusing to listen on {settings.host} with auth off: anyone who can reach it could read and "
                "write every trace. Turn auth on by setting TRACEREEL_ADMIN_KEY (then create keys with "
                "`tracereel keys create`), or pass --insecure-no-auth."
            )
        _run(app, settings, store, log, on_listening)
    finally:
        store.close()


def _run(
    app: FastAPI,
    settings: CollectorSettings,
    store: Store,
    log: WriteAheadLog,
    on_listening: Callable[[Listening], None] | None,
) -> None:
    sock = _bind_http(settings.host, settings.port)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    grpc: OTLPGrpcServer | None = app.state.grpc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        # The gRPC port is bound on the loop that serves it, before the app's lifespan starts it.
        if grpc is not None:
            _bind_grpc(grpc, settings.host, settings.grpc_port)
        if on_listening is not None:
            on_listening(
                Listening(
                    http_url=f"http://{settings.host}:{sock.getsockname()[1]}",
                    grpc_address=f"{settings.host}:{grpc.port}" if grpc is not None else None,
                    store=store.display_url,
                    cluster=settings.cluster,
                    retention_days=settings.retention_days,
                    wal_dir=str(log.directory),
                )
            )
        try:
            await server.serve(sockets=[sock])
        finally:
            if grpc is not None:
                await grpc.stop()

    # uvicorn drains on SIGINT/SIGTERM, then re-raises the signal: after a clean drain,
    # Ctrl-C or a container stop is a normal exit, not "Aborted!" with status 1.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except ServeError:
        log.close()  # the app's lifespan, which would have, never ran
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
    if not server.started:
        raise ServeError(f"the collector on {settings.host}:{settings.port} stopped before it started (see the log)")
