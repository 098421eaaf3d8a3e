"""The tape: a recorded trace turned into the calls replay serves, and the matching state.

A trace (the read API's JSON: ``{"trace_id", "spans": [...]}``) becomes a tree of
:class:`RecordedCall` — one per ``@agent``, ``@tool`` and ``@llm`` span; other spans are
looked through. Children of a call are grouped into *waves*: calls whose recorded time spans
overlap (asyncio.gather, threads) form one wave and are matched by fingerprint in any order;
waves are consumed in recorded order, and identical calls in recorded order.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

from tracereel import semconv as sc
from tracereel.rules import boundary_kind, call_addresses, call_name, is_true
from tracereel.sdk.hooks import args_hash, to_json
from tracereel.traces import is_error

__all__ = ["CannotReplay", "Key", "RecordedCall", "Tape", "Wave"]

Key = tuple[str, str, str]  # (kind, name, fingerprint)


class CannotReplay(Exception):
    """The trace cannot be replayed (unknown, not importable, missing data); the message says why."""


@dataclass(eq=False)
class RecordedCall:
    """One recorded boundary call."""

    span_id: str
    parent_id: str
    kind: str  # agent | tool | llm
    name: str
    arguments_json: str | None
    fingerprint: str
    start_ns: int
    end_ns: int
    result_json: str | None = None
    error: tuple[str, str, str] | None = None  # (exception type, message, error.type)
    entrypoint: str | None = None
    entrypoint_file: str | None = None
    agent_path: tuple[str, ...] = ()
    ordinal: int = 1  # 1-based among the parent's children of the same kind and name
    number: int = 1  # 1-based among all calls of the same kind and name in the trace (override address)
    children: list[RecordedCall] = field(default_factory=list["RecordedCall"])
    consumed: bool = False
    synthetic: bool = False  # a root rebuilt from a task-start marker (the real root was lost)
    killed: bool = False  # a kill switch stopped this agent call: its body never ran

    @property
    def label(self) -> str:
        """``kind:name#number``, the address used by ``--override`` and ``tracereel show``."""
        return f"{self.kind}:{self.name}#{self.number}"

    def address(self) -> dict[str, Any]:
        """Where this call sits: agent path, kind, name, ordinal among siblings, number in the trace."""
        return {
            "agent_path": list(self.agent_path),
            "kind": self.kind,
            "name": self.name,
            "ordinal": self.ordinal,
            "number": self.number,
            "label": self.label,
        }

    def arguments(self) -> Any:
        """The recorded arguments, parsed (None if not recorded)."""
        return None if self.arguments_json is None else json.loads(self.arguments_json)

    def walk(self) -> list[RecordedCall]:
        """This call and every call below it."""
        out: list[RecordedCall] = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class Wave:
    """Children of one call that ran concurrently; matched by (kind, name, fingerprint)."""

    __slots__ = ("by_key", "calls", "remaining")

    def __init__(self, calls: list[RecordedCall]) -> None:
        self.calls = calls
        self.remaining = len(calls)
        self.by_key: dict[Key, deque[RecordedCall]] = {}
        for call in calls:
            self.by_key.setdefault((call.kind, call.name, call.fingerprint), deque()).append(call)

    def take(self, key: Key) -> RecordedCall | None:
        queue = self.by_key.get(key)
        if not queue:
            return None
        call = queue.popleft()
        self.remaining -= 1
        return call

    def unconsumed(self) -> list[RecordedCall]:
        return [c for c in self.calls if not c.consumed]


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], span.get("attributes") or {})


def _llm_arguments(attrs: dict[str, Any]) -> str | None:
    """The full arguments JSON of an LLM call, rebuilt from what the SDK records."""
    full = attrs.get(sc.LLM_ARGUMENTS)
    if full is not None:
        return str(full)
    messages = attrs.get(sc.INPUT_MESSAGES)
    if messages is None:
        return None
    messages = str(messages)
    if args_hash(messages) == attrs.get(sc.ARGS_HASH):
        return messages  # the call had no ``messages`` parameter: this is every argument
    return to_json({"messages": json.loads(messages)})


def _error(span: dict[str, Any]) -> tuple[str, str, str] | None:
    if not is_error(span):
        return None
    attrs = _attrs(span)
    for event in cast(list[dict[str, Any]], span.get("events") or []):
        if event.get("name") == sc.EXCEPTION_EVENT:
            ev = _attrs(event)
            return (
                str(ev.get("exception.type", "Exception")),
                str(ev.get("exception.message", "")),
                str(attrs.get(sc.ERROR_TYPE, "")),
            )
    message = str(span.get("status_message") or "")
    type_name, _, text = message.partition(": ")
    return (type_name or "Exception", text, str(attrs.get(sc.ERROR_TYPE, "")))


def _to_call(span: dict[str, Any], kind: str) -> RecordedCall:
    attrs = _attrs(span)
    start = _int(span.get("start_time_unix_nano"))
    call = RecordedCall(
        span_id=str(span.get("span_id", "")),
        parent_id=str(span.get("parent_span_id") or ""),
        kind=kind,
        name=call_name(span, kind),
        arguments_json=None,
        fingerprint="",
        start_ns=start,
        end_ns=start + _int(span.get("duration_ns")),
        error=_error(span),
    )
    if kind == "agent":
        call.arguments_json = attrs.get(sc.AGENT_INPUT)
        call.result_json = attrs.get(sc.AGENT_OUTPUT)
        call.entrypoint = attrs.get(sc.ENTRYPOINT)
        call.entrypoint_file = attrs.get(sc.ENTRYPOINT_FILE)
        call.fingerprint = args_hash(call.arguments_json) if call.arguments_json is not None else ""
        call.killed = is_true(attrs.get(sc.KILLED))
    elif kind == "tool":
        call.arguments_json = attrs.get(sc.TOOL_CALL_ARGUMENTS)
        call.result_json = attrs.get(sc.TOOL_CALL_RESULT)
        call.fingerprint = str(attrs.get(sc.ARGS_HASH, ""))
    else:
        call.arguments_json = _llm_arguments(attrs)
        call.result_json = attrs.get(sc.OUTPUT_MESSAGES)
        call.fingerprint = str(attrs.get(sc.ARGS_HASH, ""))
    return call


def _waves(children: list[RecordedCall]) -> list[Wave]:
    waves: list[Wave] = []
    current: list[RecordedCall] = []
    wave_end = -1
    for child in children:
        if current and child.start_ns < wave_end:
            current.append(child)
            wave_end = max(wave_end, child.end_ns)
            continue
        if current:
            waves.append(Wave(current))
        current, wave_end = [child], child.end_ns
    if current:
        waves.append(Wave(current))
    return waves


class Tape:
    """Everything replay needs from one trace, and which recorded calls have been used."""

    def __init__(self, trace: dict[str, Any]) -> None:
        raw_spans = trace.get("spans")
        if not isinstance(raw_spans, list) or not raw_spans:
            raise CannotReplay("the trace holds no spans")
        spans = cast(list[dict[str, Any]], raw_spans)
        self.trace_id = str(trace.get("trace_id") or spans[0].get("trace_id") or "")
        self.lock = threading.RLock()
        by_id = {str(s.get("span_id")): s for s in spans}
        calls: dict[str, RecordedCall] = {}
        marker: dict[str, Any] | None = None
        # (seq, values, span id, at): at = "start" (drawn by the caller before this call) or "end"
        chunks: list[tuple[int, list[Any], str, str]] = []
        for span in spans:
            attrs = _attrs(span)
            if is_true(attrs.get(sc.TASK_START)):
                marker = marker or span
            raw = attrs.get(sc.NONDETERMINISM)
            if raw:
                try:
                    parsed: Any = json.loads(raw)
                    for chunk in cast(list[Any], parsed if isinstance(parsed, list) else [parsed]):
                        at = str(chunk.get("at", "start"))
                        chunks.append((int(chunk["seq"]), list(chunk["values"]), str(span.get("span_id")), at))
                except (ValueError, KeyError, TypeError, AttributeError):
                    pass  # a damaged chunk: those values are drawn live
            kind = boundary_kind(span)  # None: not a tracereel boundary, replay looks through it
            if kind is not None:
                calls[str(span.get("span_id"))] = _to_call(span, kind)
        chunks.sort(key=lambda c: c[0])
        self.chunks = chunks
        self.nondeterminism: list[list[Any]] = [v for c in chunks for v in c[1]]

        def tracked_parent(span_id: str) -> str:
            # The nearest ancestor that is a boundary call (other spans are looked through).
            seen: set[str] = set()
            current = str(by_id.get(span_id, {}).get("parent_span_id") or "")
            while current and current not in calls and current in by_id and current not in seen:
                seen.add(current)
                current = str(by_id[current].get("parent_span_id") or "")
            return str(current)

        roots: list[RecordedCall] = []
        for call in calls.values():
            call.parent_id = tracked_parent(call.span_id)
            parent = calls.get(call.parent_id)
            if parent is not None:
                parent.children.append(call)
            else:
                roots.append(call)
        self.truncated = False
        agent_roots = [r for r in roots if r.kind == "agent" and r.parent_id == ""]
        if agent_roots:
            self.root = min(agent_roots, key=lambda r: (r.start_ns, r.span_id))
            orphans = [r for r in roots if r is not self.root]
        elif marker is not None:
            # The process died before the root span ended: rebuild the root from the marker.
            self.truncated = True
            attrs = _attrs(marker)
            root_id = str(marker.get("parent_span_id") or "")
            arguments = attrs.get(sc.AGENT_INPUT)
            self.root = RecordedCall(
                span_id=root_id,
                parent_id="",
                kind="agent",
                name=str(attrs.get(sc.AGENT_NAME, "")),
                arguments_json=arguments,
                fingerprint=args_hash(arguments) if arguments is not None else "",
                start_ns=_int(marker.get("start_time_unix_nano")),
                end_ns=2**63,
                entrypoint=attrs.get(sc.ENTRYPOINT),
                entrypoint_file=attrs.get(sc.ENTRYPOINT_FILE),
                synthetic=True,
            )
            orphans: list[RecordedCall] = []
            for r in roots:
                if r.parent_id == root_id:
                    r.parent_id = root_id
                    self.root.children.append(r)
                else:
                    orphans.append(r)
        else:
            raise CannotReplay(
                "the trace has no root @agent span and no task-start record, so its entry point and input "
                "are unknown (was it recorded with the tracereel SDK's @agent decorator?)"
            )
        self.orphans = orphans  # calls outside the task (e.g. threads without the task's context)
        self.waves: dict[int, list[Wave]] = {}
        self.calls: list[RecordedCall] = []
        self._index(self.root, (), call_addresses(spans))
        self._check()

    def _index(self, call: RecordedCall, path: tuple[str, ...], addresses: dict[str, str]) -> None:
        call.agent_path = path
        self.calls.append(call)
        call.children.sort(key=lambda c: (c.start_ns, c.span_id))
        seen: dict[tuple[str, str], int] = {}
        for child in call.children:
            seen[(child.kind, child.name)] = seen.get((child.kind, child.name), 0) + 1
            child.ordinal = seen[(child.kind, child.name)]
        self.waves[id(call)] = _waves(call.children)
        inner = (*path, call.name) if call.kind == "agent" else path
        for child in call.children:
            # The address rule (tracereel/rules.py call_addresses), shared with `tracereel show`.
            child.number = int(addresses[child.span_id].rpartition("#")[2])
            self._index(child, inner, addresses)

    def _check(self) -> None:
        root = self.root
        missing: list[str] = []
        if not root.entrypoint:
            missing.append(f"the root agent span has no {sc.ENTRYPOINT}")
        if root.arguments_json is None:
            missing.append(f"the root agent span has no {sc.AGENT_INPUT}")
        unserved = [c.label for c in self.calls[1:] if c.result_json is None and c.error is None]
        if unserved:
            shown = ", ".join(unserved[:5]) + (" ..." if len(unserved) > 5 else "")
            missing.append(f"{len(unserved)} call(s) have no recorded result or exception ({shown})")
        if missing:
            raise CannotReplay("the trace lacks what replay needs: " + "; ".join(missing))

    # --- matching ------------------------------------------------------------------------

    def current_wave(self, parent: RecordedCall) -> Wave | None:
        """The earliest wave under ``parent`` that still has unconsumed calls."""
        for wave in self.waves[id(parent)]:
            if wave.remaining:
                return wave
        return None

    def take(self, parent: RecordedCall, key: Key) -> RecordedCall | None:
        """Consume the recorded call under ``parent`` in the current wave with this key, if any."""
        wave = self.current_wave(parent)
        if wave is None:
            return None
        call = wave.take(key)
        if call is not None:
            call.consumed = True
        return call

    def consume_subtree(self, call: RecordedCall) -> None:
        """Mark ``call`` and everything under it as used (a served or stubbed call)."""
        for inner in call.walk():
            if not inner.consumed:
                inner.consumed = True
        for inner in call.walk():
            for wave in self.waves[id(inner)]:
                wave.remaining = 0
                for queue in wave.by_key.values():
                    queue.clear()

    def drawn_inside(self, call: RecordedCall) -> set[int]:
        """Sequence numbers of the clock/random/uuid chunks drawn inside ``call`` (for stubbing it)."""
        inside = {c.span_id for c in call.walk()[1:]}
        own_end = {seq for seq, _, span_id, at in self.chunks if span_id == call.span_id and at == "end"}
        return own_end | {seq for seq, _, span_id, _ in self.chunks if span_id in inside}

    def unconsumed_children(self, parent: RecordedCall) -> list[RecordedCall]:
        """Children of ``parent`` not used yet, in recorded order."""
        return [c for c in parent.children if not c.consumed]

    def later_match(self, parent: RecordedCall, key: Key) -> RecordedCall | None:
        """An unconsumed child of ``parent`` with this key outside the current wave (the replay skipped some)."""
        for child in parent.children:
            if not child.consumed and (child.kind, child.name, child.fingerprint) == key:
                return child
        return None
