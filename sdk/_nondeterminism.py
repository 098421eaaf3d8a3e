"""Recording (and, during replay, serving) the wall clock, ``random`` and ``uuid4`` seen by agent code.

While at least one task (an outermost ``@agent`` call) runs, ``time.time``, ``uuid.uuid4`` and
the module-level ``random`` functions are routed through thin wrappers; in modules that define
tracereel boundaries, the same names imported with ``from x import y`` are swapped too, and so
is ``datetime`` imported with ``from datetime import datetime`` (its ``now``/``utcnow``/``today``
read the wrapped clock). A wrapper asks the task's *scope* (a context
variable) for the value: during a normal run the scope draws the real value and records it,
during replay the replay engine's scope serves the recorded one. Outside a task, in other
threads without the task's context, and inside ``@tool``/``@llm`` bodies (which replay does not
run) the wrappers pass straight through, so nothing is recorded there. When no task runs nothing
is patched at all. ``time.monotonic``, ``time.time_ns`` (used by OpenTelemetry for span times)
and asyncio's clock are never touched.

Recorded values travel as ``tracereel.nondeterminism`` attributes: the values drawn before a
boundary call are attached to that call's span when it starts (so a crash loses nothing that
came before the last finished call), those an agent drew after its last call to its own span
when it ends. Each chunk carries a sequence number; replay concatenates the chunks in that
order (and skips a stubbed sub-agent's own chunks).
"""

from __future__ import annotations

import datetime as _datetime_module
import json
import random as _random_module
import sys
import threading
import time as _time_module
import uuid as _uuid_module
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, cast

from tracereel import semconv as sc

__all__ = [
    "Recorder",
    "Scope",
    "enter_task",
    "exit_task",
    "flush_end",
    "flush_to",
    "hide",
    "recording_enabled",
    "register_module",
    "scope",
    "set_recording",
    "unhide",
]


class Scope:
    """Where wrapped calls get their values from. ``draw`` returns the value for one call."""

    def draw(self, kind: str, live: Callable[[], Any]) -> Any:  # pragma: no cover - interface
        """Return the value for a call of ``kind``; ``live()`` computes the real one."""
        raise NotImplementedError


class Recorder(Scope):
    """A normal run's scope: draws the real value and remembers it, in draw order."""

    __slots__ = ("_lock", "_seq", "pending")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self.pending: list[list[Any]] = []

    def draw(self, kind: str, live: Callable[[], Any]) -> Any:
        """Compute the real value and record it."""
        value = live()
        self.record(kind, value)
        return value

    def record(self, kind: str, value: Any) -> None:
        """Remember that agent code saw ``value`` for a call of ``kind`` (thread-safe)."""
        with self._lock:
            self.pending.append([kind, value])

    def take(self, at: str = "start") -> str | None:
        """The values recorded since the last call, as one JSON chunk; None if there are none.

        ``at`` says whether they were drawn before the span's call started (``start``: by the
        caller) or inside the span's agent after its last boundary call (``end``).
        """
        with self._lock:
            if not self.pending:
                return None
            chunk, self.pending = self.pending, []
            seq, self._seq = self._seq, self._seq + 1
        return json.dumps({"seq": seq, "at": at, "values": chunk}, separators=(",", ":"))


_scope: ContextVar[Scope | None] = ContextVar("tracereel_nondeterminism_scope", default=None)

# Originals, captured once at import.
_real_time = _time_module.time
_real_datetime = _datetime_module.datetime
_real_uuid4 = _uuid_module.uuid4
_real_random = _random_module.random
_real_getrandbits = _random_module.getrandbits
_rng = _random_module._inst  # type: ignore[attr-defined]


def scope() -> Scope | None:
    """The scope of the current task, or None."""
    return _scope.get()


def _time() -> float:
    current = _scope.get()
    if current is None:
        return _real_time()
    return float(current.draw("time", _real_time))


def _uuid4() -> _uuid_module.UUID:
    current = _scope.get()
    if current is None:
        return _real_uuid4()
    return _uuid_module.UUID(hex=current.draw("uuid4", lambda: _real_uuid4().hex))


def _random() -> float:
    current = _scope.get()
    if current is None:
        return _rng.__class__.random(_rng)
    return float(current.draw("random", lambda: _rng.__class__.random(_rng)))


def _getrandbits(k: int) -> int:
    current = _scope.get()
    if current is None:
        return _rng.__class__.getrandbits(_rng, k)
    # The width is part of the kind: a served value must fit the bits asked for.
    return int(current.draw(f"bits{k}", lambda: _rng.__class__.getrandbits(_rng, k)))


class _DateTimeMeta(type):
    # Real datetimes must stay instances of the patched name (isinstance checks in agent code).
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _real_datetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _real_datetime)


class _DateTime(_real_datetime, metaclass=_DateTimeMeta):
    """``datetime.datetime`` whose ``now``/``utcnow``/``today`` read the (recorded) wall clock."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Constructing one gives a real datetime: nothing outside sees this class's instances.
        return _real_datetime(*args, **kwargs)

    @classmethod
    def now(cls, tz: _datetime_module.tzinfo | None = None) -> _datetime_module.datetime:  # type: ignore[override]
        return _real_datetime.fromtimestamp(_time(), tz)

    @classmethod
    def utcnow(cls) -> _datetime_module.datetime:  # type: ignore[override]
        return _real_datetime.fromtimestamp(_time(), _datetime_module.timezone.utc).replace(tzinfo=None)

    @classmethod
    def today(cls) -> _datetime_module.datetime:  # type: ignore[override]
        return _real_datetime.fromtimestamp(_time())


# (module, attribute, original, wrapper). ``datetime.datetime`` is not replaced in the datetime
# module itself: other libraries compare ``type(x) is datetime.datetime``; it is swapped only
# where agent modules imported it by name (``from datetime import datetime``).
_PATCHES: list[tuple[Any, str, Any, Any]] = [
    (_time_module, "time", _real_time, _time),
    (_uuid_module, "uuid4", _real_uuid4, _uuid4),
    (_random_module, "random", _real_random, _random),
    (_random_module, "getrandbits", _real_getrandbits, _getrandbits),
]
_lock = threading.Lock()
_active = 0
_modules: set[str] = set()
_swapped: list[tuple[dict[str, Any], str, Any]] = []
_enabled = True  # set by configure() from TRACEREEL_RECORD_NONDETERMINISM


def recording_enabled() -> bool:
    """Whether normal runs record nondeterministic values (``TRACEREEL_RECORD_NONDETERMINISM``)."""
    return _enabled


def set_recording(enabled: bool) -> None:
    """Turn recording of nondeterministic values in normal runs on or off (replay always serves)."""
    global _enabled
    _enabled = enabled


def register_module(name: str) -> None:
    """Remember a module that defines boundaries: its ``from time import time``-style names get swapped."""
    _modules.add(name)


_SWAPS: list[tuple[Any, Any]] = [(original, wrapper) for _, _, original, wrapper in _PATCHES]
_SWAPS.append((_real_datetime, _DateTime))


def _install() -> None:
    by_original = {id(original): wrapper for original, wrapper in _SWAPS}
    for module, attribute, _original, wrapper in _PATCHES:
        setattr(module, attribute, wrapper)
    # Module-level random functions other than random()/getrandbits() (choice, randint, shuffle,
    # uniform, ...) are bound methods of the hidden instance; they look these two up on the
    # instance at call time, so instance attributes route them through the wrappers.
    _rng.random = _random
    _rng.getrandbits = _getrandbits
    for name in list(_modules):
        module = sys.modules.get(name)
        namespace: object = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        names = cast(dict[str, Any], namespace)
        for key, value in list(names.items()):
            wrapper = by_original.get(id(value))
            if wrapper is not None and key != "__builtins__":
                names[key] = wrapper
                _swapped.append((names, key, value))


def _uninstall() -> None:
    for module, attribute, original, wrapper in _PATCHES:
        if getattr(module, attribute, None) is wrapper:
            setattr(module, attribute, original)
    for attribute in ("random", "getrandbits"):
        _rng.__dict__.pop(attribute, None)
    wrappers = {id(wrapper) for _, wrapper in _SWAPS}
    for namespace, key, original in _swapped:
        if id(namespace.get(key)) in wrappers:
            namespace[key] = original
    _swapped.clear()


def enter_task(given: Scope | None = None) -> Token[Scope | None] | None:
    """Start recording (or serving) for a task; returns the token for :func:`exit_task`, or None.

    ``given`` (the replay engine's scope) wins; otherwise an already active scope is kept, else
    a new :class:`Recorder` is made when recording is enabled.
    """
    global _active
    current = given or _scope.get()
    if current is None:
        if not _enabled:
            return None
        current = Recorder()
    token = _scope.set(current)
    with _lock:
        _active += 1
        if _active == 1:
            _install()
    return token


def exit_task(token: Token[Scope | None], root_span: Any) -> None:
    """End a task started by :func:`enter_task`: attach what is left to the root span and unpatch."""
    global _active
    try:
        if root_span is not None:
            flush_end(root_span)
    finally:
        _scope.reset(token)
        with _lock:
            _active -= 1
            if _active == 0:
                _uninstall()


def flush_to(span: Any) -> None:
    """Attach the values recorded since the last flush to ``span``, as drawn before its call (cheap when none)."""
    current = _scope.get()
    if isinstance(current, Recorder) and current.pending:
        chunk = current.take()
        if chunk is not None:
            span.set_attribute(sc.NONDETERMINISM, chunk)


def flush_end(span: Any) -> None:
    """Attach the values drawn inside an ending agent call to its span, next to any drawn before it."""
    current = _scope.get()
    if not (isinstance(current, Recorder) and current.pending):
        return
    chunk = current.take("end")
    if chunk is None:
        return
    recorded: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    existing = recorded.get(sc.NONDETERMINISM)
    span.set_attribute(sc.NONDETERMINISM, f"[{existing},{chunk}]" if existing else chunk)


def hide() -> Token[Scope | None] | None:
    """Stop recording/serving for the current context (inside a tool or LLM body); None if nothing active."""
    if _scope.get() is None:
        return None
    return _scope.set(None)


def unhide(token: Token[Scope | None]) -> None:
    """Undo :func:`hide`."""
    _scope.reset(token)
