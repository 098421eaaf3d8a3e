"""Finding the recorded entry point in the current project: ``module:qualname`` or ``path/to/file.py:qualname``."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from tracereel.replay._tape import CannotReplay

__all__ = ["load_entrypoint"]

_SCRIPT_MODULE = "__tracereel_main__"


def _load_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise CannotReplay(f"the entry point's script {path} does not exist here; pass --entrypoint module:function")
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == path and getattr(module, "__name__", "") != "__main__":
            return module  # already loaded (``replay --all`` replays many traces of one script)
    name = f"{_SCRIPT_MODULE}{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CannotReplay(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the script's own imports of its neighbours
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        # Not run as __main__: the script's ``if __name__ == "__main__":`` block stays idle.
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise CannotReplay(f"loading {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def _import(module_name: str) -> Any:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # replay runs in the agent's project directory
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise CannotReplay(
            f"entry point module {module_name!r} is not importable here ({exc}); run replay from the agent's "
            "project directory or pass --entrypoint module:function"
        ) from None
    except BaseException as exc:
        raise CannotReplay(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from None


def load_entrypoint(spec: str, *, file: str | None = None) -> Callable[..., Any]:
    """The function named by ``spec`` (``module:qualname`` or ``file.py:qualname``).

    A ``__main__`` entry point is loaded from ``file`` (recorded by the SDK as
    ``tracereel.entrypoint.file``), without running its ``__main__`` block.
    """
    module_part, sep, qualname = spec.rpartition(":")
    if not sep or not module_part or not qualname:
        raise CannotReplay(f"entry point {spec!r} is not in the form module:function")
    if "<locals>" in qualname:
        raise CannotReplay(
            f"entry point {spec} is defined inside a function and cannot be imported; "
            "move it to module level or pass --entrypoint module:function"
        )
    if module_part.endswith(".py") or os.sep in module_part:
        module = _load_file(module_part)
    elif module_part == "__main__":
        if not file:
            raise CannotReplay(
                f"entry point {spec} was run as a script and the trace does not say which file; "
                "pass --entrypoint path/to/script.py:function"
            )
        module = _load_file(file)
    else:
        module = _import(module_part)
    target: Any = module
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CannotReplay(f"{module_part} has no {qualname} (entry point {spec})") from None
    if not callable(target):
        raise CannotReplay(f"entry point {spec} is not callable")
    if "." in qualname:
        try:
            first = next(iter(inspect.signature(target).parameters), None)
        except (TypeError, ValueError):
            first = None
        if first == "self":
            raise CannotReplay(
                f"entry point {spec} is a method; replay calls functions: pass --entrypoint to a module-level function"
            )
    return target
