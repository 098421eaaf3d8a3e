"""The collector's HTTP surface, spelled once: API version, paths, OTLP media types.

Clients spell the paths too (the SDK, the dashboard, the replay CLI); they are an API and do
not change without a new version.
"""

from __future__ import annotations

from typing import Final

__all__ = ["API_PREFIX", "API_VERSION", "HEALTH_PATH", "JSON", "OTLP_TRACES_PATH", "PROTOBUF"]

# The version the OpenAPI document states for the HTTP API (not the package's version).
API_VERSION: Final = "0.1.0"

# OTLP/HTTP's fixed path for trace exports (the OpenTelemetry specification names it).
OTLP_TRACES_PATH: Final = "/v1/traces"
# Prefix of the read, metrics and price endpoints.
API_PREFIX: Final = "/api/v1"
HEALTH_PATH: Final = "/healthz"

# The two OTLP/HTTP encodings; a response uses the request's.
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
