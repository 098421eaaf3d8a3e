"""The collector's app factory: ``create_app(settings, store)`` takes its dependencies."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tracereel.collector.api import ROUTERS
from tracereel.collector.api.errors import EXCEPTION_HANDLERS
from tracereel.collector.constants import API_VERSION, HEALTH_PATH
from tracereel.collector.ingest import BulkInserter, ParsePool, resolve_workers
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store

__all__ = ["create_app"]

logger = logging.getLogger("tracereel.collector")


def create_app(settings: CollectorSettings, store: Store) -> FastAPI:
    """Build the collector: OTLP ingestion and the read API over ``store``.

    The caller owns ``store`` (opens and closes it); the app owns the bulk inserter, which
    starts and drains with the app's lifespan.
    """
    inserter = BulkInserter(
        store,
        max_pending_spans=settings.max_pending_spans,
        max_batch_spans=settings.max_batch_spans,
        flush_interval=settings.flush_interval,
    )

    parser = ParsePool(resolve_workers(settings.parse_workers))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parser.start()
        inserter.start()
        try:
            yield
        finally:
            inserter.stop()
            parser.stop()

    app = FastAPI(
        title="tracereel collector", version=API_VERSION, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS
    )
    app.state.settings = settings
    app.state.store = store
    app.state.inserter = inserter
    app.state.parser = parser
    for router in ROUTERS:
        app.include_router(router)

    if settings.api_key is not None:
        expected = f"Bearer {settings.api_key.get_secret_value()}"

        @app.middleware("http")
        async def _require_key(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            if request.url.path != HEALTH_PATH:
                given = request.headers.get("authorization", "")
                if not secrets.compare_digest(given.encode(), expected.encode()):
                    return JSONResponse({"detail": "missing or wrong API key (Authorization: Bearer ...)"}, 401)
            return await call_next(request)

    return app
