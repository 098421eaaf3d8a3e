"""The HTTP API's wire shapes, each declared once as a pydantic model.

The collector validates requests and declares responses with these models (so its OpenAPI
document is exact), and :class:`tracereel.client.CollectorClient` parses answers into them,
so the dashboard, the CLI and evals read typed values. One module per area of the API
(``traces``, ``metrics``, ``compare``, ``evals``, ...); this module holds the two bases.

- :class:`Request`: what a client sends. Unknown fields are refused, so a typo in a posted
  field is a 422 naming it, never silently ignored.
- :class:`Response`: what the collector answers. Unknown fields are ignored, so an older
  client keeps working against a newer collector that added one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Request", "Response"]


class Request(BaseModel):
    """Base of every request body: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """Base of every response body: tolerant of fields a newer collector adds."""

    model_config = ConfigDict(extra="ignore")
