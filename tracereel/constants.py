"""Literals every part shares, named once: the version, the default collector URL, media types."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_ENDPOINT", "JSON", "PROTOBUF", "READ_API", "TRACES_PATH", "VERSION"]

VERSION: Final = "0.1.0"
DEFAULT_ENDPOINT: Final = "http://127.0.0.1:4318"
TRACES_PATH: Final = "/v1/traces"  # OTLP/HTTP traces
READ_API: Final = "/api/v1"  # the collector's read, metrics (and, later, evals and control) API
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
