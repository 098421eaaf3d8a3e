"""Deleting data: ``DELETE /api/v1/traces/{trace_id}``."""

from __future__ import annotations

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["DeletedTrace"]


class DeletedTrace(Response):
    """What a delete removed."""

    trace_id: str = Field(description="The trace, as 32 lower-case hex digits")
    deleted_spans: int = Field(ge=1, description="How many spans were removed")
