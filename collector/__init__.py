"""Collector: OTLP/HTTP ingestion, the ClickHouse store and the read API."""

from tracereel.collector.app import create_app
from tracereel.collector.control import RedactionError
from tracereel.collector.settings import CollectorSettings
from tracereel.collector.store import Store, StoreError, default_store_url

__all__ = ["CollectorSettings", "RedactionError", "Store", "StoreError", "create_app", "default_store_url"]
