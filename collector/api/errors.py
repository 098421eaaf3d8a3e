"""The API's error bodies: ``{"detail": message}`` (:class:`tracereel.contracts.errors.ErrorBody`).

A bad query or path parameter is a 400 naming it (ParamError too); a posted body that is not
JSON is a 400; a body that does not match its model is a 422 naming each field at fault.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tracereel.collector.api.auth import key_accepted, unauthorized_response
from tracereel.collector.query import ParamError

__all__ = ["exception_handlers"]

Handler = Callable[[Request, Any], Awaitable[JSONResponse]]

# pydantic's prefix on a validator's own message, which already says what is wrong.
_VALUE_ERROR = "Value error, "


def _problem(error: Mapping[str, Any], skip: str) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != skip)
    message = str(error.get("msg", "")).removeprefix(_VALUE_ERROR)
    return f"{where}: {message}" if where else message


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors: Sequence[Mapping[str, Any]] = exc.errors()
    in_body = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("body",)]
    if not in_body:
        problems = "; ".join(_problem(e, "query") for e in errors)
        return JSONResponse({"detail": f"invalid parameters: {problems}"}, status_code=400)
    if any(e.get("type") == "json_invalid" for e in in_body):
        return JSONResponse({"detail": "invalid request body: the body is not JSON"}, status_code=400)
    problems = "; ".join(_problem(e, "body") for e in in_body)
    return JSONResponse({"detail": f"invalid request body: {problems}"}, status_code=422)


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

    return {RequestValidationError: _invalid_request, ParamError: _bad_parameter, StarletteHTTPException: http_error}
