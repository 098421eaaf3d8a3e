"""The error body every route of the HTTP API answers with: ``{"detail": message}``."""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["ERRORS", "ErrorBody", "errors"]


class ErrorBody(Response):
    """What went wrong, for people: it names the parameter, field or resource at fault."""

    detail: str = Field(description="The problem, naming the parameter, field or resource")


_MEANINGS: Final = {
    400: "A parameter (or a body that is not JSON) the route cannot use; the message names it",
    401: "Missing or wrong API key (Authorization: Bearer ...)",
    403: "The key's role or team may not do this",
    404: "No such resource (or none the key may see)",
    409: "It exists already",
    413: "The body is larger than the limit",
    415: "The body's Content-Type is not one the route reads",
    422: "The body does not match the route's model; the message names each field at fault",
    500: "The collector's configuration is broken (e.g. the price table file); the message names it",
}
ERRORS: Final = tuple(_MEANINGS)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer these error statuses, each with :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}
