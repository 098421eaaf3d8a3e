"""The seam replay plugs into: every boundary asks the active interceptor to run its call.

With no interceptor (normal runs) a boundary runs its body. During replay the interceptor
decides per call: serve the recorded result, re-raise the recorded exception, or proceed
live. The usual one is process-wide, so calls made from worker threads the agent starts are
intercepted too. A context-local one (for running several replays at once, each in its own
context, as the eval runner does) wins over it where it is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from opentelemetry.trace import Span

__all__ = [
    "BoundaryCall",
    "Interceptor",
    "get_interceptor",
    "reset_context_interceptor",
    "set_context_interceptor",
    "set_interceptor",
]

Kind = Literal["agent", "tool", "llm"]


@dataclass
class BoundaryCall:
    """One call crossing an ``@agent``, ``@tool`` or ``@llm`` boundary."""

    kind: Kind
    name: str  # agent name, tool name or model
    func: Callable[..., Any]
    arguments: dict[str, Any]  # bound arguments, ``self``/``cls`` left out
    arguments_json: str  # canonical JSON of ``arguments``
    args_hash: str
    span: Span
    agent_path: tuple[str, ...]  # names of the agent spans above this call, outermost first
    parent_span_id: int  # the span this call's span is a child of (0 for a root)
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


class Interceptor(Protocol):
    """What replay implements. ``proceed`` runs the real body."""

    def intercept(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any: ...

    async def intercept_async(self, call: BoundaryCall, proceed: Callable[[], Awaitable[Any]]) -> Any: ...


_current: Interceptor | None = None
_in_context: ContextVar[Interceptor | None] = ContextVar("tracereel_interceptor", default=None)


def get_interceptor() -> Interceptor | None:
    """The interceptor in force: this context's, else the process's; None during normal runs."""
    return _in_context.get() or _current


def set_context_interceptor(interceptor: Interceptor | None) -> Token[Interceptor | None]:
    """Install ``interceptor`` for the current context only; returns the token to reset it with."""
    return _in_context.set(interceptor)


def reset_context_interceptor(token: Token[Interceptor | None]) -> None:
    """Undo :func:`set_context_interceptor`."""
    _in_context.reset(token)


def set_interceptor(interceptor: Interceptor | None) -> Interceptor | None:
    """Install ``interceptor`` (None removes it); returns the one it replaces."""
    global _current
    previous, _current = _current, interceptor
    return previous
