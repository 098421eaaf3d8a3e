"""What the routers take from the request: the collector's price table, read from its settings."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request

from tracereel.collector.query import PriceError, PriceTable, load_prices

__all__ = ["price_table", "read_price_table"]

logger = logging.getLogger("tracereel.collector")


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
