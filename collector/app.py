"""The collector's app factory: ``create_app(settings, store, *, inserter, parser)`` takes its parts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tracereel.collector.api import OPEN_PATHS, OPEN_ROUTERS, ROUTERS
from tracereel.collector.api.auth import REQUIRE_API_KEY
from tracereel.collector.api.errors import exception_handlers
from tracereel.collector.control import load_redactor
from tracereel.collector.ingest import BulkInserter, ParsePool, resolve_workers
from tracereel.collector.monitors import MonitorRunner
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store
from tracereel.constants import API_VERSION

__all__ = ["create_app"]

logger = logging.getLogger("tracereel.collector")


def create_app(
    settings: CollectorSettings,
    store: Store,
    *,
    inserter: BulkInserter | None = None,
    parser: ParsePool | None = None,
) -> FastAPI:
    """Build the collector: OTLP ingestion and the read API over ``store``.

    The caller owns ``store`` (opens and closes it). ``inserter`` and ``parser`` default to
    the ones ``settings`` describe; given or not, the app starts them with its lifespan and
    stops them when it ends (a stopped BulkInserter takes no more spans, so each app gets
    its own). The parser redacts as ``settings.redact`` says, given or not; a wrong rules
    file raises ``RedactionError`` here, before anything starts. With ``monitor_interval`` above
    0, the lifespan also runs the monitors (evaluation and notification threads).
    """
    redactor = load_redactor(settings.redact)
    if inserter is None:
        inserter = BulkInserter(
            store,
            max_pending_spans=settings.max_pending_spans,
            max_batch_spans=settings.max_batch_spans,
            flush_interval=settings.flush_interval,
        )
    if parser is None:
        parser = ParsePool(resolve_workers(settings.parse_workers), redactor)
    else:
        parser.redactor = redactor
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
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parser.start()
        inserter.start()
        if monitors is not None:
            # Threads, not the event loop: evaluation reads the store, delivery waits on receivers.
            monitors.start()
        try:
            yield
        finally:
            if monitors is not None:
                monitors.stop()
            inserter.stop()
            parser.stop()

    app = FastAPI(
        title="tracereel collector",
        version=API_VERSION,
        lifespan=lifespan,
        exception_handlers=exception_handlers(OPEN_PATHS),
        # Served by api/docs.py instead, behind the API key.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.inserter = inserter
    app.state.parser = parser
    app.state.monitors = monitors
    for router in ROUTERS:
        app.include_router(router, dependencies=None if router in OPEN_ROUTERS else [REQUIRE_API_KEY])

    return app
