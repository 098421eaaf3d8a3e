"""Collector: OTLP/HTTP ingestion, the ClickHouse store and the read API; :func:`serve` runs it as a process."""

from tracereel.collector.app import create_app
from tracereel.collector.control import RedactionError
from tracereel.collector.server import Listening, ServeError, is_loopback, serve
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store, StoreError, default_store_url

__all__ = [
    "CollectorSettings",
    "Listening",
    "RedactionError",
    "ServeError",
    "Store",
    "StoreError",
    "create_app",
    "default_store_url",
    "is_loopback",
    "serve",
]
