"""Collector: OTLP/HTTP ingestion, the ClickHouse store and the read API; :func:`serve` runs it as a process.

The names below are imported on first use, not with the package: a parse worker (a spawned
process that imports ``tracereel.collector.ingest.parsing``) then loads what parsing needs, not
the read API, FastAPI and scipy (half a second instead of five).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Each public name and the module it lives in, imported on first use.
_HOMES = {
    "CollectorSettings": "tracereel.collector.settings",
    "Listening": "tracereel.collector.server",
    "RedactionError": "tracereel.collector.control",
    "ServeError": "tracereel.collector.server",
    "Store": "tracereel.collector.store",
    "StoreError": "tracereel.collector.store",
    "create_app": "tracereel.collector.app",
    "default_store_url": "tracereel.collector.store",
    "is_loopback": "tracereel.collector.server",
    "serve": "tracereel.collector.server",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
