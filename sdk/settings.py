"""The SDK's settings, declared once: argument > environment variable > default."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SETTINGS", "ConfigError", "Setting", "resolve"]


class ConfigError(ValueError):
    """A setting has a value tracereel cannot use; the message names the variable."""


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError
    return value


@dataclass(frozen=True)
class Setting:
    """One setting: its argument name, environment variable, default and parser."""

    name: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    accepted: str
    secret: bool = False


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("service_name", "OTEL_SERVICE_NAME", "unknown_service", str, "any non-empty string"),
        Setting("endpoint", "TRACEREEL_ENDPOINT", "http://127.0.0.1:4318", str, "an http(s):// URL"),
        Setting("api_key", "TRACEREEL_API_KEY", None, str, "any string", secret=True),
        Setting("max_queue_size", "TRACEREEL_MAX_QUEUE_SIZE", 2048, _positive_int, "a positive integer"),
        Setting(
            "max_export_batch_size",
            "TRACEREEL_MAX_EXPORT_BATCH_SIZE",
            512,
            _positive_int,
            "a positive integer",
        ),
        Setting(
            "schedule_delay_millis",
            "TRACEREEL_SCHEDULE_DELAY_MILLIS",
            1000,
            _positive_int,
            "a positive integer",
        ),
        Setting("export_timeout_seconds", "TRACEREEL_EXPORT_TIMEOUT", 5.0, _positive_float, "a positive number"),
    )
}


def resolve(name: str, argument: Any = None) -> Any:
    """Return the value of setting ``name``: the argument if given, else its env var, else the default."""
    setting = SETTINGS[name]
    if argument is not None:
        return argument
    raw = os.environ.get(setting.env)
    if raw is None or raw.strip() == "":
        return setting.default
    try:
        value = setting.parse(raw.strip())
    except ValueError:
        shown = "<hidden>" if setting.secret else repr(raw)
        raise ConfigError(f"{setting.env}={shown} is not valid: expected {setting.accepted}") from None
    if name == "endpoint" and not str(value).startswith(("http://", "https://")):
        raise ConfigError(f"{setting.env}={raw!r} is not valid: expected {setting.accepted}")
    return value
