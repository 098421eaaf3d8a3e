"""The SDK's settings, declared once: argument > ``TRACEREEL_*`` variable > standard ``OTEL_*`` variable > default.

Every environment variable the SDK (and the CLI and dashboard that share its settings) reads
is declared in :data:`SETTINGS`; nothing else in tracereel reads ``os.environ`` for them.
The standard OpenTelemetry variables users already set are honoured where they mean the same
thing, below our own: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as given) and
``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` appended), ``OTEL_EXPORTER_OTLP_TRACES_HEADERS``
and ``OTEL_EXPORTER_OTLP_HEADERS``, and ``OTEL_BSP_*`` for the batch processor; the eval
judge honours the OpenAI client's ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` the same way.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracereel.constants import DEFAULT_ENDPOINT, OTLP_TRACES_PATH

__all__ = [
    "SETTINGS",
    "ConfigError",
    "Setting",
    "api_key",
    "collector_endpoint",
    "headers",
    "resolve",
    "resolve_with_source",
    "traces_url",
]


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


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError
    return value


def _millis_to_seconds(raw: str) -> float:
    return _positive_float(raw) / 1000


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError
    return raw


def _cache_dir(raw: str) -> str | bool:
    """A directory for the eval judge's cache, or ``off`` (False) for no cache."""
    if raw.lower() in ("off", "0", "false", "no", "none"):
        return False
    return raw


def _headers(raw: str) -> dict[str, str]:
    """W3C-baggage-like ``key=value,key2=value2`` (values URL-encoded), as the OTLP exporters read it."""
    out: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError
        out[urllib.parse.unquote(key.strip()).lower()] = urllib.parse.unquote(value.strip())
    return out


@dataclass(frozen=True)
class Setting:
    """One setting: its argument name, environment variable, default and parser.

    ``otel`` lists standard variables read when ``env`` is unset, each with its own parser
    (units differ: ``OTEL_BSP_EXPORT_TIMEOUT`` is in milliseconds): OpenTelemetry's, and for
    the eval judge the OpenAI client's ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``.
    """

    name: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    accepted: str
    secret: bool = False
    otel: tuple[tuple[str, Callable[[str], Any], str], ...] = field(default=())


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("service_name", "OTEL_SERVICE_NAME", "unknown_service", str, "any non-empty string"),
        Setting(
            "endpoint",
            "TRACEREEL_ENDPOINT",
            DEFAULT_ENDPOINT,
            _url,
            "an http(s):// URL",
            otel=(
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", _url, "an http(s):// URL"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", _url, "an http(s):// URL"),
            ),
        ),
        Setting("api_key", "TRACEREEL_API_KEY", None, str, "any string", secret=True),
        Setting(
            "headers",
            "TRACEREEL_HEADERS",
            {},
            _headers,
            "key=value pairs separated by commas",
            secret=True,
            otel=(
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", _headers, "key=value pairs separated by commas"),
                ("OTEL_EXPORTER_OTLP_HEADERS", _headers, "key=value pairs separated by commas"),
            ),
        ),
        Setting(
            "max_queue_size",
            "TRACEREEL_MAX_QUEUE_SIZE",
            2048,
            _positive_int,
            "a positive integer",
            otel=(("OTEL_BSP_MAX_QUEUE_SIZE", _positive_int, "a positive integer"),),
        ),
        Setting(
            "max_export_batch_size",
            "TRACEREEL_MAX_EXPORT_BATCH_SIZE",
            512,
            _positive_int,
            "a positive integer",
            otel=(("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", _positive_int, "a positive integer"),),
        ),
        Setting(
            "schedule_delay_millis",
            "TRACEREEL_SCHEDULE_DELAY_MILLIS",
            1000,
            _positive_int,
            "a positive integer",
            otel=(("OTEL_BSP_SCHEDULE_DELAY", _positive_int, "a positive integer (milliseconds)"),),
        ),
        Setting(
            "export_timeout_seconds",
            "TRACEREEL_EXPORT_TIMEOUT",
            5.0,
            _positive_float,
            "a positive number",
            otel=(("OTEL_BSP_EXPORT_TIMEOUT", _millis_to_seconds, "a positive number (milliseconds)"),),
        ),
        Setting(
            "exit_flush_timeout_seconds",
            "TRACEREEL_EXIT_FLUSH_TIMEOUT",
            3.0,
            _non_negative_float,
            "a number of seconds, 0 or more",
        ),
        Setting(
            "record_nondeterminism",
            "TRACEREEL_RECORD_NONDETERMINISM",
            True,
            _flag,
            "1/true/yes/on or 0/false/no/off",
        ),
        # The LLM judge of evaluation (tracereel.evals.judge, docs/judge.md). A judge is
        # configured when a model is named; the URL and key fall back to the variables the
        # OpenAI client itself reads, so a machine set up for OpenAI needs only the model.
        Setting(
            "judge_url",
            "TRACEREEL_JUDGE_URL",
            "https://api.openai.com/v1",
            _url,
            "the http(s):// base URL of an OpenAI-compatible API (the part before /chat/completions)",
            otel=(("OPENAI_BASE_URL", _url, "an http(s):// URL"),),
        ),
        Setting("judge_model", "TRACEREEL_JUDGE_MODEL", None, str, "a model name the judge endpoint serves"),
        Setting(
            "judge_api_key",
            "TRACEREEL_JUDGE_API_KEY",
            None,
            str,
            "any string (sent as Authorization: Bearer)",
            secret=True,
            otel=(("OPENAI_API_KEY", str, "any string"),),
        ),
        Setting(
            "judge_timeout_seconds",
            "TRACEREEL_JUDGE_TIMEOUT",
            60.0,
            _positive_float,
            "a positive number of seconds",
        ),
        Setting(
            "judge_cache",
            "TRACEREEL_JUDGE_CACHE",
            None,  # None: tracereel/judge under the user's cache directory
            _cache_dir,
            "a directory path, or off",
        ),
        # The kill switch (docs/kill-switch.md): a background poller of the collector's switches.
        Setting("kill_switch", "TRACEREEL_KILL_SWITCH", True, _flag, "1/true/yes/on or 0/false/no/off"),
        Setting(
            "kill_switch_fail_closed_after",
            "TRACEREEL_KILL_SWITCH_FAIL_CLOSED_AFTER",
            None,  # None: fail open, keep the last known switches however long the collector is away
            _positive_float,
            "a positive number of seconds (unset: fail open)",
        ),
        Setting(
            "swallow_errors",
            "TRACEREEL_SWALLOW_ERRORS",
            False,
            _flag,
            "1/true/yes/on or 0/false/no/off",
        ),
    )
}


def resolve_with_source(name: str, argument: Any = None) -> tuple[Any, str | None]:
    """The value of setting ``name`` and where it came from: ``None`` for the argument or the
    default, else the environment variable's name."""
    setting = SETTINGS[name]
    if argument is not None:
        return argument, None
    candidates = ((setting.env, setting.parse, setting.accepted), *setting.otel)
    for env, parse, accepted in candidates:
        raw = os.environ.get(env)
        if raw is None or raw.strip() == "":
            continue
        try:
            return parse(raw.strip()), env
        except ValueError:
            shown = "<hidden>" if setting.secret else repr(raw)
            raise ConfigError(f"{env}={shown} is not valid: expected {accepted}") from None
    return setting.default, None


def resolve(name: str, argument: Any = None) -> Any:
    """Return the value of setting ``name``: the argument if given, else its env vars, else the default."""
    return resolve_with_source(name, argument)[0]


def collector_endpoint(argument: str | None = None) -> str:
    """The collector's base URL (no ``/v1/traces``), for the OTLP exporter and the read API alike."""
    value, source = resolve_with_source("endpoint", argument)
    base = str(value).rstrip("/")
    if source == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" or base.endswith(OTLP_TRACES_PATH):
        base = base.removesuffix(OTLP_TRACES_PATH)
    return base


def traces_url(argument: str | None = None) -> str:
    """Where the OTLP exporter posts spans.

    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is used exactly as given, as the OpenTelemetry
    specification says; every other endpoint is a base URL that gets ``/v1/traces``.
    """
    value, source = resolve_with_source("endpoint", argument)
    if source == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":
        return str(value)
    base = str(value).rstrip("/")
    return base if base.endswith(OTLP_TRACES_PATH) else base + OTLP_TRACES_PATH


def api_key(argument: str | None = None) -> str | None:
    """The API key sent as ``Authorization: Bearer``; None when none is configured."""
    value = resolve("api_key", argument)
    return str(value) if value else None


def headers(api_key_argument: str | None = None) -> dict[str, str]:
    """Headers every request to the collector carries: the OTLP headers, then the API key's
    ``authorization`` (which wins)."""
    out = dict(resolve("headers"))
    key = api_key(api_key_argument)
    if key:
        out["authorization"] = f"Bearer {key}"
    return out
