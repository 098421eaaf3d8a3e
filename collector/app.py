"""The collector's app factory: ``create_app(settings, store, *, parser, log)`` takes its parts."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api import OPEN_PATHS, OPEN_ROUTERS, READ_AFTER_WRITE_ROUTERS, ROUTERS
from tracereel.collector.api.auth import REQUIRE_API_KEY
from tracereel.collector.api.consistency import READ_AFTER_WRITE
from tracereel.collector.api.deps import KNOWN_QUERY_PARAMETERS
from tracereel.collector.api.errors import exception_handlers
from tracereel.collector.api.otlp_grpc import OTLPGrpcServer
from tracereel.collector.control import KeyRing, load_redactor
from tracereel.collector.ingest import ParsePool, resolve_workers
from tracereel.collector.ingest.accept import IngestPath
from tracereel.collector.ingest.dedup import RecentSpans
from tracereel.collector.ingest.drain import Drainer
from tracereel.collector.ingest.wal import WriteAheadLog
from tracereel.collector.monitors import MonitorRunner
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store
from tracereel.constants import API_VERSION

__all__ = ["create_app"]

logger = logging.getLogger("tracereel.collector")


def _keep_sealing(store: Store, interval: float, stop: threading.Event) -> None:
    """Seal finished hours (collector/query/hours.py) until ``stop``: a pass every ``interval`` seconds,
    and at once again while a pass finds more to do (a store just filled or migrated). The first pass
    waits an interval too: a collector starting has its write-ahead log to store first."""
    from tracereel.collector.query.hours import seal_hours

    while not stop.wait(interval):
        busy = True
        while busy and not stop.is_set():
            try:
                busy = seal_hours(store) > 0
            except Exception:  # the store being down must not end the thread: the next pass tries again
                logger.exception("sealing hours failed; the metrics read those hours live meanwhile")
                busy = False


def create_app(
    settings: CollectorSettings,
    store: Store,
    *,
    parser: ParsePool | None = None,
    log: WriteAheadLog | None = None,
) -> FastAPI:
    """Build the collector: OTLP ingestion (HTTP, and gRPC unless ``grpc_port`` is 0) and the read API.

    The caller owns ``store`` (opens and closes it). ``parser`` and the write-ahead ``log``
    default to the ones ``settings`` describe; the app opens the log, starts the parser, the
    drainer and the gRPC server with its lifespan, and at its end stores what the log holds
    before it stops. The parser redacts as ``settings.redact`` says, given or not; a wrong rules
    file raises ``RedactionError`` here, before anything starts. With ``monitor_interval`` above
    0, the lifespan also runs the monitors (evaluation and notification threads).
    """
    redactor = load_redactor(settings.redact)
    if parser is None:
        parser = ParsePool(resolve_workers(settings.parse_workers), redactor)
    else:
        parser.redactor = redactor
    if log is None:
        log = WriteAheadLog(settings.resolved_wal_dir(), max_bytes=settings.wal_max_bytes)
    ingest = IngestPath(parser, log, RecentSpans(settings.dedup_window_spans), max_body_bytes=settings.max_body_bytes)
    drainer = Drainer(log, store, interval=settings.drain_interval)
    keys = KeyRing(
        store,
        admin_key=settings.admin_key.get_secret_value() if settings.admin_key else None,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
    )
    grpc_server = None
    if settings.grpc_port:
        grpc_server = OTLPGrpcServer(
            ingest, keys, host=settings.host, port=settings.grpc_port, max_message_bytes=settings.max_body_bytes
        )
    monitors = None
    if settings.monitor_interval > 0:
        monitors = MonitorRunner(
            store,
            interval=settings.monitor_interval,
            prices=settings.prices,
            max_attempts=settings.monitor_max_attempts,
            backoff=settings.monitor_backoff,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        if not log.is_open:
            log.open()
        # Spans acknowledged before a restart and not yet stored are recent: a client's retry
        # of them must be taken for a re-send as well.
        await run_in_threadpool(ingest.remember_pending)
        parser.start()
        drainer.start()
        # Keys created or revoked through another collector on the same ClickHouse server.
        stop_refresh = threading.Event()
        threading.Thread(target=keys.keep_fresh, args=(stop_refresh,), name="tracereel-keys", daemon=True).start()
        if monitors is not None:
            # Threads, not the event loop: evaluation reads the store, delivery waits on receivers.
            monitors.start()
        sealing = threading.Thread(
            target=_keep_sealing, args=(store, settings.seal_interval, stop_refresh), name="tracereel-seal", daemon=True
        )
        if settings.seal_interval > 0:
            sealing.start()
        try:
            if grpc_server is not None:
                await grpc_server.start()
            yield
        finally:
            if monitors is not None:
                monitors.stop()
            stop_refresh.set()
            if sealing.is_alive():
                # A pass in flight finishes before the store can close under it.
                await run_in_threadpool(sealing.join)
            if grpc_server is not None:
                await grpc_server.stop()
            if not await run_in_threadpool(drainer.stop):
                logger.warning(
                    "stopped with %d bytes not yet stored; they stay in the write-ahead log %s for the next start",
                    log.undrained_bytes,
                    log.directory,
                )
            parser.stop()

    app = FastAPI(
        title="tracereel collector",
        version=API_VERSION,
        lifespan=lifespan,
        # Starlette types a handler as taking any Exception; each of ours takes the one it is registered for.
        exception_handlers=cast(Any, exception_handlers(OPEN_PATHS)),
        # Served by api/docs.py instead, behind the API key.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.parser = parser
    app.state.keys = keys
    app.state.log = log
    app.state.ingest = ingest
    app.state.drainer = drainer
    app.state.grpc = grpc_server
    app.state.monitors = monitors
    for router in ROUTERS:
        # The key first: a request without one gets its 401 before anything else happens.
        dependencies = [] if router in OPEN_ROUTERS else [REQUIRE_API_KEY]
        dependencies.append(KNOWN_QUERY_PARAMETERS)
        if router in READ_AFTER_WRITE_ROUTERS:
            dependencies.append(READ_AFTER_WRITE)
        app.include_router(router, dependencies=dependencies)

    return app
