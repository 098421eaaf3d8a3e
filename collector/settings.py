"""The collector's settings, declared once: argument > ``TRACEREEL_*`` env var > default."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracereel.collector.store import Layout, default_store_url

__all__ = ["CollectorSettings"]


class CollectorSettings(BaseSettings):
    """Collector settings; each field also reads ``TRACEREEL_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="TRACEREEL_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to bind; 127.0.0.1 keeps the collector local")
    port: int = Field(4318, ge=0, le=65535, description="Port for OTLP/HTTP and the read API")
    store: str = Field(default_factory=default_store_url, description="chdb:///dir or http(s)://host:8123/db")
    admin_key: SecretStr | None = Field(
        None, description="An admin key (any team, every action) that turns auth on; bootstraps `tracereel keys create`"
    )
    api_key: SecretStr | None = Field(
        None, description="Kept for compatibility: one more admin key, like TRACEREEL_ADMIN_KEY (docs/security.md)"
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0, description="Largest request body, after decompression")
    max_eval_report_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest eval report (POST /api/v1/evals/runs), after decompression"
    )
    grpc_port: int = Field(4317, ge=0, le=65535, description="Port for OTLP/gRPC; 0 turns it off")
    wal_dir: str | None = Field(
        None, description="Write-ahead log directory; default: beside an embedded store, else in the data dir"
    )
    wal_max_bytes: int = Field(
        1024 * 1024 * 1024, gt=0, description="Bytes the write-ahead log holds before the collector answers 503"
    )
    drain_interval: float = Field(
        1.0, gt=0, description="Seconds between inserts from the write-ahead log into the store, under load"
    )
    dedup_window_spans: int = Field(
        1_000_000, ge=0, description="Recent spans remembered to drop exact re-sends (client retries); 0: off"
    )
    parse_workers: int = Field(-1, ge=-1, description="Processes decoding OTLP; -1: one per core")
    prices: str | None = Field(None, description="TOML or JSON price table overriding the defaults")
    retention_days: int | None = Field(
        None, ge=1, description="Days every table keeps its rows (a TTL, set when the store opens); none: forever"
    )
    monitor_interval: float = Field(
        60.0, ge=0, description="Seconds between evaluations of every monitor; 0 turns monitors off"
    )
    seal_interval: float = Field(
        30.0,
        ge=0,
        description="Seconds between passes that seal finished hours of metrics (collector/query/hours.py); "
        "0 turns sealing off and every metric is read from the per-task rollup",
    )
    monitor_max_attempts: int = Field(5, ge=1, le=100, description="Delivery attempts per monitor notification")
    monitor_backoff: float = Field(
        2.0, gt=0, description="Seconds before a failed notification is retried; doubles with each attempt"
    )
    cluster: str | None = Field(
        None,
        description="ClickHouse cluster to lay the tables out on (replicated + Distributed, DDL ON CLUSTER); "
        "needs an http(s):// store",
    )
    redact: str = Field(
        "default", min_length=1, description="PII/secret redaction before storage: default, off, or a TOML rules file"
    )

    def resolved_wal_dir(self) -> str:
        """The write-ahead log's directory: ``wal_dir``, else ``<store dir>.wal`` for chDB, else the data dir's."""
        if self.wal_dir:
            return self.wal_dir
        if self.store.startswith("chdb:"):
            return "/" + self.store[len("chdb:") :].strip("/") + ".wal"
        return str(Path(default_store_url()[len("chdb:") :]).parent / "wal")

    @field_validator("store")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        if not value.startswith(("chdb:", "http://", "https://")):
            raise ValueError("expected chdb:///path/to/dir or http(s)://user:pass@host:8123/db")
        return value

    @field_validator("cluster")
    @classmethod
    def _cluster_name(cls, value: str | None) -> str | None:
        Layout(value)  # a ClusterLayoutError (a ValueError) names what is wrong with the name
        return value
