"""``GET /healthz``: liveness and store status (open without a key)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["Health", "LogHealth", "StoredLag"]


class StoredLag(Response):
    """Seconds from ack to stored over the latest 10,000 requests."""

    p50: float
    p99: float
    max: float


class LogHealth(Response):
    """The write-ahead log: what is acknowledged and not yet stored, and how long storing takes."""

    depth_bytes: int = Field(ge=0)
    depth_records: int = Field(ge=0)
    lag_seconds: float = Field(ge=0, description="Age of the oldest record not yet stored")
    max_bytes: int = Field(ge=0)
    drain_interval_seconds: float = Field(ge=0, description="The least time between two inserts under load")
    stored_lag_seconds: StoredLag | None = Field(description="None before anything was stored")


class Health(Response):
    """The collector is up: which store it writes to, how much it stored and redacted."""

    status: Literal["ok"]
    store: Literal["chdb", "clickhouse"]
    stored_spans: int = Field(ge=0)
    inserts: int = Field(ge=0)
    store_error: str | None = Field(description="Set while the store refuses writes (spans wait in the log)")
    duplicate_spans_dropped: int = Field(ge=0)
    log: LogHealth
    redactions: dict[str, int] | None = Field(description="Values replaced per kind since start; None: redaction off")
