"""Recording (and replaying) agents built on the libraries people use, without decorating their calls.

    import tracereel

    tracereel.instrument("openai", "anthropic", "openai-agents")

- ``openai``: ``chat.completions.create`` and ``responses.create`` of ``OpenAI`` and
  ``AsyncOpenAI`` become ``@llm`` boundaries (streams included);
- ``anthropic``: ``messages.create`` of ``Anthropic`` and ``AsyncAnthropic`` likewise;
- ``openai-agents``: the OpenAI Agents SDK's agents, handoffs and guardrails become agent and
  guardrail spans, its function tools become tool boundaries; its model calls go through the
  OpenAI client, which is instrumented with it.

Each library is imported only when it is instrumented: importing tracereel imports none of them.
Instrumenting twice wraps once; :func:`uninstrument` (or the returned handle's ``undo()``)
restores the originals. A library that is not installed is skipped with a log line.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LIBRARIES", "Instrumented", "instrument", "instrumented", "uninstrument"]

logger = logging.getLogger("tracereel")

# name -> (the module that must be importable, our module that instruments it)
LIBRARIES: dict[str, tuple[str, str]] = {
    "openai": ("openai", "tracereel.sdk.integrations._openai"),
    "anthropic": ("anthropic", "tracereel.sdk.integrations._anthropic"),
    "openai-agents": ("agents", "tracereel.sdk.integrations._agents"),
}
# What an integration needs instrumented as well (the Agents SDK calls models through the OpenAI client).
_NEEDS: dict[str, tuple[str, ...]] = {"openai-agents": ("openai",)}

_lock = threading.RLock()
_undo: dict[str, Callable[[], None]] = {}


@dataclass
class Instrumented:
    """What :func:`instrument` did: the libraries now instrumented, and those not installed."""

    libraries: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    _names: tuple[str, ...] = field(default=(), repr=False)

    def undo(self) -> None:
        """Uninstrument the libraries this call named."""
        uninstrument(*self._names)


def _check(names: Iterable[str]) -> list[str]:
    out = list(names)
    unknown = [n for n in out if n not in LIBRARIES]
    if unknown:
        raise ValueError(f"cannot instrument {', '.join(map(repr, unknown))}: expected one of {', '.join(LIBRARIES)}")
    return out


def _patch_methods(methods: list[tuple[type, str, Any]], helpers: list[tuple[type, str, Any]]) -> Callable[[], None]:
    """Wrap each (class, attribute, Method) as an LLM boundary, then each (class, attribute, factory)
    helper built on them; returns the undo."""
    from tracereel.sdk.integrations._llm import wrap

    done: list[tuple[type, str, Any, Any]] = []
    wrappers: list[tuple[type, str, Any]] = [
        (owner, attr, functools.partial(wrap, method)) for owner, attr, method in methods
    ]
    for owner, attr, make in [*wrappers, *helpers]:
        original = owner.__dict__[attr]
        patched = make(original)
        setattr(owner, attr, patched)
        done.append((owner, attr, original, patched))

    def undo() -> None:
        for owner, attr, original, patched in reversed(done):
            if owner.__dict__.get(attr) is patched:
                setattr(owner, attr, original)
            else:  # someone wrapped it after us: leave their wrapper in place
                logger.warning("tracereel: %s.%s was re-wrapped by someone else; not restoring it", owner, attr)

    return undo


def _install(name: str) -> bool:
    library, ours = LIBRARIES[name]
    if name in _undo:
        return True
    for needed in _NEEDS.get(name, ()):
        if not _install(needed):
            return False
    if importlib.util.find_spec(library) is None:
        logger.info("tracereel: %s is not installed; not instrumenting it (pip install 'tracereel[%s]')", name, name)
        return False
    module: Any = importlib.import_module(ours)
    if hasattr(module, "install"):
        _undo[name] = module.install()
    else:
        _undo[name] = _patch_methods(module.methods(), module.helpers() if hasattr(module, "helpers") else [])
    return True


def instrument(*names: str) -> Instrumented:
    """Record every call of the named libraries (``"openai"``, ``"anthropic"``, ``"openai-agents"``).

    No names: every library that is installed. Idempotent: instrumenting twice wraps once. A
    library that is not installed is skipped (logged at INFO, listed in ``missing``); an unknown
    name raises ``ValueError`` naming the accepted ones. Returns a handle whose ``undo()``
    uninstruments what this call named.
    """
    wanted = _check(names) or list(LIBRARIES)
    done: list[str] = []
    missing: list[str] = []
    with _lock:
        for name in wanted:
            (done if _install(name) else missing).append(name)
    return Instrumented(tuple(done), tuple(missing), tuple(done))


def uninstrument(*names: str) -> None:
    """Restore the original methods of the named libraries (no names: all). Not instrumented: nothing happens."""
    wanted = _check(names) or list(_undo)
    with _lock:
        for name in wanted:
            undo = _undo.pop(name, None)
            if undo is not None:
                undo()


def instrumented() -> tuple[str, ...]:
    """The libraries instrumented now."""
    with _lock:
        return tuple(_undo)
