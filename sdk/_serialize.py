"""Turning arbitrary Python values into JSON for span attributes, and hashing arguments.

The fallback for values JSON cannot hold is documented in the README: such a value is
recorded as ``{"__tracereel_repr__": repr(value), "__type__": "module.Class"}``; memory
addresses are stripped from the repr so that the same call hashes the same in every run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, cast

__all__ = ["REPR_MARKER", "args_hash", "to_json"]

REPR_MARKER = "__tracereel_repr__"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _qualified_type(value: object) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _fallback(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic v2 models (e.g. OpenAI/Anthropic responses)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(cast(set[object], value), key=repr)
    if isinstance(value, bytes):
        return {REPR_MARKER: _ADDRESS.sub("", repr(value)), "__type__": "bytes"}
    return _repr_marker(value)


def to_json(value: Any) -> str:
    """Serialise ``value`` to canonical JSON (sorted keys); never raises."""
    try:
        return json.dumps(value, default=_fallback, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        pass
    # Circular references or keys JSON cannot hold. Keep what can be kept: for a mapping
    # (the usual case: a call's arguments) only the offending values become reprs.
    if isinstance(value, dict):
        parts: dict[str, Any] = {}
        for key, item in cast(dict[object, object], value).items():
            try:
                json.dumps(item, default=_fallback)
                parts[str(key)] = item
            except (ValueError, TypeError, RecursionError):
                parts[str(key)] = _repr_marker(item)
        try:
            return json.dumps(parts, default=_fallback, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except (ValueError, TypeError, RecursionError):
            pass
    return json.dumps(_repr_marker(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _repr_marker(value: Any) -> dict[str, str]:
    try:
        shown = _ADDRESS.sub("", repr(value))
    except Exception:
        shown = f"<unrepresentable {_qualified_type(value)}>"
    return {REPR_MARKER: shown, "__type__": _qualified_type(value)}


def args_hash(arguments_json: str) -> str:
    """Fingerprint of a call's arguments, given their canonical JSON: 16 hex digits of SHA-256."""
    return hashlib.sha256(arguments_json.encode("utf-8", "surrogatepass")).hexdigest()[:16]
