"""What the routers take from the request: the collector's price table (from its settings), a trace id."""

from __future__ import annotations

import logging
import types
from collections.abc import Sequence
from typing import Any, Final, Union, get_args, get_origin

from fastapi import Depends, HTTPException, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tracereel.collector.query import ParamError, PriceError, PriceTable, load_prices
from tracereel.contracts.traces import TRACE_ID_PATTERN

__all__ = ["KNOWN_QUERY_PARAMETERS", "TRACE_ID", "known_query_parameters", "price_table", "read_price_table"]

logger = logging.getLogger("tracereel.collector")

# A trace id path parameter. parse_trace_id checks it (a 400 naming the id); the pattern is
# declared only in the OpenAPI document, so that check and its message stay the one rule.
TRACE_ID: Final[Any] = Path(description="32 hex digits", json_schema_extra={"pattern": TRACE_ID_PATTERN})


def price_table(request: Request) -> PriceTable:
    """The collector's price table (defaults + ``TRACEREEL_PRICES``); 500 naming the variable if the file is bad."""
    try:
        return load_prices(request.app.state.settings.prices)
    except PriceError as exc:
        raise HTTPException(500, str(exc)) from None


def read_price_table(request: Request) -> PriceTable:
    """The price table for trace reads: a bad ``TRACEREEL_PRICES`` file is logged, not fatal, so traces stay readable.

    (The metric endpoints answer 500 naming the variable instead, so the problem is seen.)
    """
    try:
        return load_prices(request.app.state.settings.prices)
    except PriceError as exc:
        logger.error("%s; trace costs use the built-in prices until it is fixed", exc)
        return load_prices(None)


def _takes_many(annotation: Any) -> bool:
    # list[str], tuple[...], or either of them optional: the parameter may be given more than once.
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, Sequence) and not issubclass(origin, str | bytes)


def _query_parameters(dependant: Dependant) -> dict[str, bool]:
    # The route's own query parameters and those of every dependency it has (the key, the scope...),
    # each with whether it may be repeated.
    names = {param.alias: _takes_many(param.field_info.annotation) for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_parameters(sub)
    return names


def known_query_parameters(request: Request) -> None:
    """A 400 naming any query parameter the route does not take, or one given twice that takes one value.

    Ignoring it would widen the answer silently: ``?agnet=support`` would list every agent's
    traces, and ``?version=1&version=2`` would answer for version 2 alone; the user would act on
    numbers that are not the ones asked for.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    # Walked each time, not cached by id(route): an id is reused once a route (of a test's app) is gone.
    declared = _query_parameters(route.dependant)
    unknown = sorted(set(request.query_params.keys()) - declared.keys())
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise ParamError(f"unknown query parameter {', '.join(map(repr, unknown))}; this route takes: {takes}")
    repeated = sorted(
        name for name, many in declared.items() if not many and len(request.query_params.getlist(name)) > 1
    )
    if repeated:
        raise ParamError(f"query parameter {', '.join(map(repr, repeated))} given more than once; it takes one value")


# For include_router(..., dependencies=[..., KNOWN_QUERY_PARAMETERS]).
KNOWN_QUERY_PARAMETERS: Final[Any] = Depends(known_query_parameters)
