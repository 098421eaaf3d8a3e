"""The API's error bodies: ``{"detail": message}``, and 400 (not 422) naming each bad parameter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["EXCEPTION_HANDLERS"]


async def _bad_parameters(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'query')}: {err.get('msg')}" for err in exc.errors()
    )
    return JSONResponse({"detail": f"invalid parameters: {problems}"}, status_code=400)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


# For FastAPI(exception_handlers=...).
EXCEPTION_HANDLERS: Final[dict[Any, Callable[[Request, Any], Awaitable[JSONResponse]]]] = {
    RequestValidationError: _bad_parameters,
    StarletteHTTPException: _http_error,
}
