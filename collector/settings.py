"""The collector's settings, declared once: argument > ``TRACEREEL_*`` env var > default."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracereel.collector.store import default_store_url

__all__ = ["CollectorSettings"]


class CollectorSettings(BaseSettings):
    """Collector settings; each field also reads ``TRACEREEL_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="TRACEREEL_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to bind; 127.0.0.1 keeps the collector local")
    port: int = Field(4318, ge=0, le=65535, description="Port for OTLP/HTTP and the read API")
    store: str = Field(default_factory=default_store_url, description="chdb:///dir or http(s)://host:8123/db")
    api_key: SecretStr | None = Field(None, description="If set, requests need 'Authorization: Bearer <key>'")
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0, description="Largest request body, after decompression")
    max_eval_report_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest eval report (POST /api/v1/evals/runs), after decompression"
    )
    max_pending_spans: int = Field(500_000, gt=0, description="Spans waiting to be stored before 503")
    max_batch_spans: int = Field(100_000, gt=0, description="Most spans written by one INSERT")
    flush_interval: float = Field(0.05, gt=0, description="Seconds to gather spans before an INSERT")
    parse_workers: int = Field(-1, ge=-1, description="Processes decoding OTLP; -1: one per core")
    prices: str | None = Field(None, description="TOML or JSON price table overriding the defaults")
    retention_days: int | None = Field(
        None, ge=1, description="Days every table keeps its rows (a TTL, set when the store opens); none: forever"
    )
    monitor_interval: float = Field(
        60.0, ge=0, description="Seconds between evaluations of every monitor; 0 turns monitors off"
    )
    monitor_max_attempts: int = Field(5, ge=1, le=100, description="Delivery attempts per monitor notification")
    monitor_backoff: float = Field(
        2.0, gt=0, description="Seconds before a failed notification is retried; doubles with each attempt"
    )
    redact: str = Field(
        "default", min_length=1, description="PII/secret redaction before storage: default, off, or a TOML rules file"
    )

    @field_validator("store")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        if not value.startswith(("chdb:", "http://", "https://")):
            raise ValueError("expected chdb:///path/to/dir or http(s)://user:pass@host:8123/db")
        return value
