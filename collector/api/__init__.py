"""The HTTP API: one router module per resource, over ``ingest`` and ``query``."""

__all__: list[str] = []
