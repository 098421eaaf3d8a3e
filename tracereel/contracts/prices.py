"""The price table in use: ``GET /api/v1/prices``."""

from __future__ import annotations

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["ModelPrice", "PriceList"]


class ModelPrice(Response):
    """USD per million tokens of one model (or model prefix)."""

    input_per_million: float = Field(ge=0, description="USD per million input tokens")
    output_per_million: float = Field(ge=0, description="USD per million output tokens")


class PriceList(Response):
    """The built-in defaults merged with ``TRACEREEL_PRICES``, by model."""

    prices: dict[str, ModelPrice]
