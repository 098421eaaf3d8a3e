"""What the routers take from the request: the collector's price table (from its settings), a trace id."""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import HTTPException, Path, Request

from tracereel.collector.query import PriceError, PriceTable, load_prices
from tracereel.contracts.traces import TRACE_ID_PATTERN

__all__ = ["TRACE_ID", "price_table", "read_price_table"]

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
