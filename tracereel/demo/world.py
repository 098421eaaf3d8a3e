"""The demo's simulated world: which calls fail, how long they take, how well the models behave.

A task's :class:`Scenario` is drawn by the task generator from the seeded RNG and installed
around the task with :func:`scenario`. Tools and scripted LLMs consult it; the agents never
do, so their decisions depend only on their input and on what their tools and LLMs return,
which is exactly what replay serves back from a recording. Outside :func:`scenario` (e.g. a
replay that goes live) the world is calm: nothing fails.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Scenario", "World", "current", "rng_for", "scenario", "step_delay"]

# Real sleeps are tiny so 200 tasks run in seconds; the runner may stretch them when it
# moves the traces into the past (see runner.py).
_LLM_DELAY_S = (0.002, 0.006)
_TOOL_DELAY_S = (0.0005, 0.002)
_TIMEOUT_DELAY_S = 0.006


@dataclass(frozen=True)
class Scenario:
    """What the world does to one task.

    ``tool_faults`` maps a tool name to the outcomes of its successive calls
    (``"timeout"``, ``"error"``, ``"fatal"`` or ``"ok"``; calls past the list succeed).
    ``no_results`` makes searches come back empty. ``quality`` and ``leak`` are rolls in
    [0, 1): a model hallucinates when ``quality`` is below its hallucination rate, and
    repeats personal data when ``leak`` is below its leak rate. ``rate_limited`` is how
    many of the task's first LLM calls the provider answers with a rate-limit error.
    """

    seed: int = 0
    tool_faults: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_results: bool = False
    quality: float = 1.0
    leak: float = 1.0
    rate_limited: int = 0


class World:
    """A scenario plus what has happened so far in the task (call counters)."""

    def __init__(self, spec: Scenario) -> None:
        self.spec = spec
        self._tool_calls: dict[str, int] = {}
        self._llm_calls = 0

    def tool_outcome(self, tool: str) -> str:
        """The outcome of this call of ``tool``: ``ok``, ``timeout``, ``error`` or ``fatal``."""
        index = self._tool_calls.get(tool, 0)
        self._tool_calls[tool] = index + 1
        outcomes = self.spec.tool_faults.get(tool, ())
        return outcomes[index] if index < len(outcomes) else "ok"

    def llm_rate_limited(self) -> bool:
        """Whether the provider rejects this LLM call (the task's first ``rate_limited`` calls)."""
        self._llm_calls += 1
        return self._llm_calls <= self.spec.rate_limited


_CALM = Scenario()
_current: ContextVar[World | None] = ContextVar("tracereel_demo_world", default=None)


def current() -> World:
    """The world of the running task; a calm one outside :func:`scenario`."""
    world = _current.get()
    return world if world is not None else World(_CALM)


@contextmanager
def scenario(spec: Scenario) -> Iterator[World]:
    """Run the enclosed task in a world described by ``spec``."""
    world = World(spec)
    token = _current.set(world)
    try:
        yield world
    finally:
        _current.reset(token)


def rng_for(*parts: object) -> random.Random:
    """A RNG seeded from ``parts`` with a stable hash (``hash()`` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def step_delay(kind: str, rng: random.Random) -> None:
    """Sleep a few milliseconds, like an LLM call, a tool call or a call that times out."""
    if kind == "timeout":
        time.sleep(_TIMEOUT_DELAY_S)
        return
    low, high = _LLM_DELAY_S if kind == "llm" else _TOOL_DELAY_S
    time.sleep(rng.uniform(low, high))
