"""The SDK's API for the parts built on it: replay, evaluation and integrations.

Agent code uses the decorators and signals of :mod:`tracereel`. The parts that *drive* agent
code (the replay engine serving a recording, the eval runner, the wrappers of the OpenAI and
Anthropic clients) use this module and nothing else of the SDK: nothing outside ``sdk/``
imports an ``sdk/_module``. What is here is stable for them; what is not here is private.

- **Intercepting boundaries.** Every ``@agent``/``@tool``/``@llm`` call is described as a
  :class:`BoundaryCall` and handed to the installed :class:`Interceptor` (at most one per
  process), which serves a recorded result, re-raises a recorded exception or calls
  ``proceed()`` to run the body. :func:`intercepting` installs one for a block.
- **Serving recorded nondeterminism.** ``time.time``, ``random`` and ``uuid4`` seen by agent
  code are drawn through the task's :class:`Scope`. A :class:`Recorder` draws the real value
  and records it; a replay subclasses it, serves recorded values from ``draw`` and calls
  :meth:`Recorder.record` so the replay's own trace records what the agent saw. :func:`serving`
  makes a scope the current task's for a block.
- **Values.** :func:`to_json` (canonical JSON, never raises, the documented fallback marker
  :data:`REPR_MARKER`), :func:`args_hash` (the fingerprint replay matches calls by) and
  :func:`exception_type_name` (the name replay re-imports an exception class by).
- **Running a boundary.** :func:`boundary` wraps any callable as an agent, tool or LLM boundary
  without decorating its definition (how integrations wrap a client method).
- **State.** :func:`is_configured` tells whether the SDK has an exporter yet.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any

from tracereel.sdk._boundaries import exception_type_name, make_boundary
from tracereel.sdk._intercept import BoundaryCall, Interceptor, Kind, get_interceptor, set_interceptor
from tracereel.sdk._nondeterminism import Recorder, Scope, enter_task, exit_task
from tracereel.sdk._runtime import internal_error, is_configured
from tracereel.sdk._serialize import REPR_MARKER, args_hash, to_json

__all__ = [
    "REPR_MARKER",
    "BoundaryCall",
    "Interceptor",
    "Kind",
    "Recorder",
    "Scope",
    "args_hash",
    "boundary",
    "exception_type_name",
    "get_interceptor",
    "intercepting",
    "internal_error",
    "is_configured",
    "serving",
    "set_interceptor",
    "to_json",
]


@contextmanager
def intercepting(interceptor: Interceptor) -> Generator[None, None, None]:
    """Route every boundary call in the process through ``interceptor`` inside the block."""
    previous = set_interceptor(interceptor)
    try:
        yield
    finally:
        set_interceptor(previous)


@contextmanager
def serving(scope: Scope) -> Generator[None, None, None]:
    """Make ``scope`` the current task's nondeterminism scope inside the block.

    ``time.time``, ``random`` and ``uuid4`` (and their ``from x import y`` copies in modules that
    define boundaries) are patched while the block runs and restored after it.
    """
    token = enter_task(scope)
    try:
        yield
    finally:
        if token is not None:
            exit_task(token, None)


def boundary(
    kind: Kind,
    func: Callable[..., Any],
    *,
    name: str | None = None,
    version: str | None = None,
    model: str | None = None,
    provider: str | None = None,
) -> Callable[..., Any]:
    """``func`` wrapped as a boundary of ``kind``, as ``@agent``/``@tool``/``@llm`` would wrap it.

    ``name`` and ``version`` apply to agents and tools, ``model`` and ``provider`` to LLM calls.
    Sync and async callables are both supported; the wrapper records and is intercepted exactly
    like a decorated function.
    """
    return make_boundary(kind, func, name=name, version=version, model=model, provider=provider)
