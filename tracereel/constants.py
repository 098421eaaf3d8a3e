"""Literals every part shares, named once: the version, the collector's address, paths and media types.

Clients spell the paths too (the SDK, the dashboard, the replay CLI); they are an API and do not
change without a new version.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "DEFAULT_ENDPOINT",
    "HEALTH_PATH",
    "JSON",
    "OTLP_TRACES_PATH",
    "PROTOBUF",
    "VERSION",
]

# The distribution's version (pyproject.toml reads it from here).
VERSION: Final = "0.1.0"
# The version the OpenAPI document states for the HTTP API (not the package's version).
API_VERSION: Final = "0.1.0"

# Where the collector listens unless told otherwise: loopback only.
DEFAULT_ENDPOINT: Final = "http://127.0.0.1:4318"
# OTLP/HTTP's fixed path for trace exports (the OpenTelemetry specification names it).
OTLP_TRACES_PATH: Final = "/v1/traces"
# Prefix of the read, metrics and price endpoints (and, later, evals and control).
API_PREFIX: Final = "/api/v1"
HEALTH_PATH: Final = "/healthz"

# The two OTLP/HTTP encodings; a response uses the request's.
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
