"""Turning recorded JSON back into Python values and exceptions for the agent code."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import importlib
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any, cast

from tracereel.sdk.hooks import REPR_MARKER

__all__ = ["call_arguments", "decode_result", "hints", "loads_or_text", "rebuild", "rebuild_exception"]


def rebuild(value: Any, annotation: Any) -> Any:
    """Rebuild ``value`` (parsed JSON) as ``annotation`` when that is a dataclass, pydantic model or tuple.

    The SDK records dataclasses and pydantic models as JSON objects; without this a replayed
    tool would hand the agent a dict where it got an object. Anything else is returned as is.
    """
    if annotation is None or annotation is inspect.Parameter.empty or value is None:
        return value
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        for option in typing.get_args(annotation):
            if option is type(None):
                continue
            rebuilt = rebuild(value, option)
            if rebuilt is not value:
                return rebuilt
        return value
    if origin in (list, tuple) and isinstance(value, list):
        values = cast(list[Any], value)
        args = typing.get_args(annotation)
        if origin is list and args:
            items = [rebuild(v, args[0]) for v in values]
        elif len(args) == 2 and args[1] is Ellipsis:
            items = [rebuild(v, args[0]) for v in values]
        elif args and len(args) == len(values):
            items = [rebuild(v, a) for v, a in zip(values, args, strict=True)]
        else:
            items = list(values)
        return tuple(items) if origin is tuple else items
    if not isinstance(annotation, type):
        return value
    if isinstance(value, dict):
        mapping = cast(dict[str, Any], value)
        if REPR_MARKER in mapping:
            return mapping  # the repr of an object that was not JSON: nothing to rebuild
        validate = getattr(annotation, "model_validate", None)
        if callable(validate):
            try:
                return validate(mapping)
            except Exception:
                return mapping
        if dataclasses.is_dataclass(annotation):
            field_hints = hints(annotation)
            fields = {f.name for f in dataclasses.fields(annotation) if f.init}
            try:
                return annotation(**{k: rebuild(v, field_hints.get(k)) for k, v in mapping.items() if k in fields})
            except Exception:
                return mapping
        return mapping
    if annotation is tuple and isinstance(value, list):
        return tuple(cast(list[Any], value))
    return value


@functools.lru_cache(maxsize=4096)
def _cached_hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(inspect.unwrap(obj))
    except Exception:
        return {}


def hints(obj: Any) -> dict[str, Any]:
    """The type hints of a function or class (cached: evaluating string annotations costs ~100 µs a call)."""
    try:
        return _cached_hints(obj)
    except TypeError:  # unhashable
        try:
            return typing.get_type_hints(inspect.unwrap(obj))
        except Exception:
            return {}


def decode_result(func: Callable[..., Any], result_json: str) -> Any:
    """The recorded result of a call of ``func``, rebuilt with its return annotation when possible."""
    return rebuild(json.loads(result_json), hints(func).get("return"))


def call_arguments(func: Callable[..., Any], arguments_json: str) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for calling ``func`` with recorded bound arguments."""
    decoded: Any = json.loads(arguments_json)
    if not isinstance(decoded, dict):
        raise ValueError("the recorded input is not a JSON object of arguments")
    recorded = cast(dict[str, Any], decoded)
    annotations = hints(func)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return [], recorded
    if set(recorded) == {"args", "kwargs"} and not ({"args", "kwargs"} <= set(params)):
        return list(recorded["args"]), dict(recorded["kwargs"])  # the SDK could not bind the call
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, param in params.items():
        if name not in recorded:
            continue
        value = recorded[name]
        if param.kind is param.POSITIONAL_ONLY:
            args.append(rebuild(value, annotations.get(name)))
        elif param.kind is param.VAR_POSITIONAL:
            args.extend(value)
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update(value)
        else:
            kwargs[name] = rebuild(value, annotations.get(name))
    return args, kwargs


def _resolve(type_name: str) -> type | None:
    if "." not in type_name:
        found = getattr(builtins, type_name, None)
        return found if isinstance(found, type) else None
    parts = type_name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except Exception:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj if isinstance(obj, type) else None
    return None


def rebuild_exception(type_name: str, message: str, main_module: Any = None) -> BaseException:
    """An exception of the recorded type (imported by its qualified name) with the recorded message.

    ``__main__.X`` is looked up in ``main_module`` (the recorded script, loaded under another
    name). A type that cannot be imported here becomes a stand-in ``Exception`` subclass of the
    same name, so ``except Exception`` still sees it.
    """
    cls: Any = None
    if type_name.startswith("__main__.") and main_module is not None:
        cls = main_module
        for attr in type_name.split(".")[1:]:
            cls = getattr(cls, attr, None)
        cls = cls if isinstance(cls, type) else None
    cls = cls or _resolve(type_name)
    if cls is None or not issubclass(cls, BaseException):
        module, _, short = type_name.rpartition(".")
        cls = type(short or type_name, (Exception,), {"__module__": module or "builtins"})
    if cls is KeyError:
        # str(KeyError('k')) is "'k'": undo that quoting so str() of the rebuilt error matches.
        try:
            message = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            pass
    try:
        exc = cls(message)
    except Exception:
        # An exception class whose __init__ wants other arguments: build it without __init__.
        exc = cls.__new__(cls)
        exc.args = (message,)
    return exc


def loads_or_text(raw: str) -> Any:
    """Parse JSON; text that is not JSON is taken as a string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw
