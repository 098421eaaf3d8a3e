"""The API's error bodies: ``{"detail": message}``, and 400 (not 422) naming each bad parameter (ParamError too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracereel.collector.api.auth import key_accepted, unauthorized_response
from tracereel.collector.query import ParamError

__all__ = ["exception_handlers"]

Handler = Callable[[Request, Any], Awaitable[JSONResponse]]


async def _bad_parameters(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'query')}: {err.get('msg')}" for err in exc.errors()
    )
    return JSONResponse({"detail": f"invalid parameters: {problems}"}, status_code=400)


async def _bad_parameter(request: Request, exc: ParamError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


def exception_handlers(open_paths: Collection[str]) -> dict[Any, Handler]:
    """Handlers for ``FastAPI(exception_handlers=...)``; ``open_paths`` need no API key."""

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing answers 404 and 405 before any dependency runs. Without the key those are
        # 401 too, as on every path but the open ones, so a caller without it cannot map the API.
        if exc.status_code in (404, 405) and request.url.path not in open_paths and not key_accepted(request):
            return unauthorized_response()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return {RequestValidationError: _bad_parameters, ParamError: _bad_parameter, StarletteHTTPException: http_error}
