"""The SDK's API for the parts built on it: replay, evaluation and integrations.

Agent code uses the decorators and signals of :mod:`tracereel`. The parts that *drive* agent
code (the replay engine serving a recording, the eval runner, the wrappers of the OpenAI and
Anthropic clients) use this module and nothing else of the SDK: nothing outside ``sdk/``
imports an ``sdk/_module``. What is here is stable for them; what is not here is private.

- **Intercepting boundaries.** Every ``@agent``/``@tool``/``@llm`` call is described as a
  :class:`BoundaryCall` and handed to the installed :class:`Interceptor` (at most one per
  process), which serves a recorded result, re-raises a recorded exception or calls
  ``proceed()`` to run the body. :func:`intercepting` installs one for a block, for the whole
  process or (``context_only``) for the current context, so several can run at once.
- **Serving recorded nondeterminism.** ``time.time``, ``random`` and ``uuid4`` seen by agent
  code are drawn through the task's :class:`Scope`. A :class:`Recorder` draws the real value
  and records it; a replay subclasses it, serves recorded values from ``draw`` and calls
  :meth:`Recorder.record` so the replay's own trace records what the agent saw. :func:`serving`
  makes a scope the current task's for a block.
- **Values.** :func:`to_json` (canonical JSON, never raises, the documented fallback marker
  :data:`REPR_MARKER`), :func:`args_hash` (the fingerprint replay matches calls by) and
  :func:`exception_type_name` (the name replay re-imports an exception class by).
- **Running a boundary.** :func:`boundary` wraps any callable as an agent, tool or LLM boundary
  without decorating its definition (how integrations wrap a client method); :func:`open_call`
  starts a call of such a wrapper whose result arrives later (a streamed response), as an
  :class:`OpenCall` the caller ends; :func:`run_call` (and :func:`run_call_async`) runs a call
  of it from arguments already bound by name and a closure doing the work.
- **Watching.** :func:`on_span_start` and :func:`on_span_end` call back with every span the SDK
  starts (and may mark) and ends (how the eval runner marks a case's trace and sees the calls
  it made, to score them).
- **State.** :func:`is_configured` tells whether the SDK has an exporter yet.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, Span

from tracereel.sdk._boundaries import (
    OpenCall,
    boundary,
    exception_type_name,
    open_call,
    run_call,
    run_call_async,
)
from tracereel.sdk._intercept import (
    BoundaryCall,
    Interceptor,
    Kind,
    get_interceptor,
    reset_context_interceptor,
    set_context_interceptor,
    set_interceptor,
)
from tracereel.sdk._nondeterminism import Recorder, Scope, enter_task, exit_task
from tracereel.sdk._runtime import add_span_listener, add_span_start_listener, internal_error, is_configured
from tracereel.sdk._serialize import REPR_MARKER, args_hash, to_json

__all__ = [
    "REPR_MARKER",
    "BoundaryCall",
    "Interceptor",
    "Kind",
    "OpenCall",
    "Recorder",
    "Scope",
    "args_hash",
    "boundary",
    "exception_type_name",
    "get_interceptor",
    "intercepting",
    "internal_error",
    "is_configured",
    "on_span_end",
    "on_span_start",
    "open_call",
    "run_call",
    "run_call_async",
    "serving",
    "set_interceptor",
    "to_json",
]


@contextmanager
def intercepting(interceptor: Interceptor, *, context_only: bool = False) -> Generator[None, None, None]:
    """Route boundary calls through ``interceptor`` inside the block.

    By default every call in the process, threads included. With ``context_only`` only calls
    made in the current context (and the asyncio tasks and ``copy_context()`` runs it spawns):
    several interceptors can then run at once, one per context; a thread started without the
    context is not intercepted.
    """
    if context_only:
        token = set_context_interceptor(interceptor)
        try:
            yield
        finally:
            reset_context_interceptor(token)
        return
    previous = set_interceptor(interceptor)
    try:
        yield
    finally:
        set_interceptor(previous)


def on_span_start(callback: Callable[[Span], None]) -> Callable[[], None]:
    """Call ``callback`` with every span the SDK starts from now on, in the starting thread and context.

    It may set attributes (how the eval runner marks a case run's root span with its run and
    case ids). Returns a function that unregisters it. Exceptions are swallowed like any
    internal error.
    """
    return add_span_start_listener(callback)


def on_span_end(callback: Callable[[ReadableSpan], None]) -> Callable[[], None]:
    """Call ``callback`` with every span the SDK ends from now on (also after a re-``configure``).

    Returns a function that unregisters it. Runs on the agent's thread: keep it cheap; an
    exception in it is logged and swallowed like any internal error.
    """
    return add_span_listener(callback)


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
