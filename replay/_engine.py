"""The replay engine: an SDK interceptor that serves a tape to re-run agent code.

The engine calls the recorded entry point with the recorded input. Every boundary the agent
crosses asks the engine (through the SDK's interceptor seam) what to do:

- the root ``@agent`` call and sub-agents run their code, with a context variable naming the
  recorded call whose children are being matched;
- a ``@tool`` or ``@llm`` call is matched against the current wave of that recorded call's
  children by (kind, name, fingerprint) and served: the recorded result, or the recorded
  exception re-raised; its body never runs;
- a call the tape cannot serve is a divergence: strict mode stops the run by raising
  :class:`ReplayDiverged` from the boundary, live mode runs it and everything after for real.
"""

from __future__ import annotations

import asyncio
import contextvars
import difflib
import inspect
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanContext, TraceFlags

from tracereel import semconv as sc
from tracereel.replay._report import Divergence, ReplayReport, matches_redacted, pretty, unified_diff
from tracereel.replay._tape import CannotReplay, RecordedCall, Tape
from tracereel.replay._values import call_arguments, decode_result, hints, rebuild, rebuild_exception
from tracereel.sdk import hooks
from tracereel.sdk.hooks import BoundaryCall, exception_type_name, to_json

__all__ = ["Engine", "ReplayDiverged", "ReplayOptions"]


class ReplayDiverged(BaseException):
    """Stops a strict replay at its first divergence.

    A BaseException, so an agent's ``except Exception`` does not swallow it.
    """

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(f"replay diverged ({divergence.kind}) at {divergence.where}: {divergence.message}")
        self.divergence = divergence


@dataclass
class ReplayOptions:
    """How to replay: mode, boundaries that run live, sub-agents to stub, results to override, faults."""

    mode: str = "strict"  # strict | live
    live: frozenset[tuple[str, str]] = frozenset()  # (kind, name); name "*" = every boundary of the kind
    stub_agents: frozenset[str] = frozenset()
    # (kind, name, number or None for every call) -> the value to serve instead of the recorded result
    overrides: dict[tuple[str, str, int | None], Any] = field(default_factory=dict[tuple[str, str, int | None], Any])
    # (kind, name) -> "timeout" | "error": raise instead of serving the recorded result (a scenario)
    faults: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])
    # Intercept only this context's calls, so several replays can run at once (threads the agent
    # starts without its context then run unintercepted).
    context_only: bool = False


FAULTS = ("timeout", "error")


class InjectedFault(RuntimeError):
    """The error a tool raises when a scenario injects ``error`` into it."""

    __module__ = "tracereel.replay"  # recorded (and re-imported) by its public name


def fault_exception(kind: str, name: str, fault: str) -> BaseException:
    """The exception an injected fault raises: ``TimeoutError`` or :class:`InjectedFault`."""
    what = f"{kind}:{name}={fault}"
    if fault == "timeout":
        return TimeoutError(f"tracereel: injected timeout ({what})")
    return InjectedFault(f"tracereel: injected error ({what})")


_LIVE = object()  # the context's calls run live (under a live or diverged call)
_parent: contextvars.ContextVar[Any] = contextvars.ContextVar("tracereel_replay_parent", default=None)


class _Served(hooks.Recorder):
    """The replay's nondeterminism scope: serves the recorded values in order, drawing live past the end."""

    def __init__(self, chunks: list[tuple[int, list[Any], str, str]]) -> None:
        super().__init__()
        self.chunks = [(seq, values) for seq, values, _, _ in chunks]
        self.chunk = 0
        self.offset = 0
        self.served = 0
        self.drawn_live = 0
        self._serve_lock = threading.Lock()

    def skip(self, seqs: set[int]) -> None:
        """Drop chunks not yet served (drawn inside a sub-agent that is now stubbed)."""
        with self._serve_lock:
            done, ahead = self.chunks[: self.chunk], self.chunks[self.chunk :]
            if self.offset and ahead:
                done, ahead = [*done, ahead[0]], ahead[1:]
                self.chunk += 1
                self.offset = 0
            self.chunks = done + [c for c in ahead if c[0] not in seqs]

    def draw(self, kind: str, live: Callable[[], Any]) -> Any:
        with self._serve_lock:
            while self.chunk < len(self.chunks) and self.offset >= len(self.chunks[self.chunk][1]):
                self.chunk += 1
                self.offset = 0
            found = False
            value: Any = None
            if self.chunk < len(self.chunks):
                recorded = self.chunks[self.chunk][1][self.offset]
                if recorded[0] == kind:
                    value = recorded[1]
                    self.offset += 1
                    self.served += 1
                    found = True
            if not found:
                self.drawn_live += 1
        if not found:
            value = live()
        self.record(kind, value)  # the replay's own trace records what it saw
        return value


@dataclass
class _Decision:
    action: str  # serve | raise | diverge | live | agent
    node: RecordedCall | None = None
    value: Any = None


class Engine:
    """Replays one tape; use :meth:`run`, then :meth:`report`."""

    def __init__(self, tape: Tape, options: ReplayOptions | None = None) -> None:
        self.tape = tape
        self.options = options or ReplayOptions()
        self.divergence: Divergence | None = None
        self.went_live = False
        self.root_started = False
        self.served = 0
        self.live = 0
        self.stubbed = 0
        self.overridden: list[str] = []
        self.outcome: dict[str, Any] = {}
        self.replay_trace_id: str | None = None
        self.notes: list[str] = []
        self.server = _Served(tape.chunks)
        self.main_module: Any = None  # a script entry point's module (for ``__main__.X`` exception types)

    # --- decisions -------------------------------------------------------------------------

    def _decide(self, call: BoundaryCall) -> _Decision:
        tape = self.tape
        with tape.lock:
            if self.went_live:
                return self._live(call)
            parent = _parent.get()
            if parent is _LIVE:
                return self._live(call)
            if parent is None:
                if not self.root_started and call.kind == "agent":
                    return self._enter_root(call)
                return self._diverge(
                    call,
                    Divergence(
                        kind="extra_call",
                        message="a call outside the replayed task: a thread started without the task's context? "
                        "(submit work with contextvars.copy_context().run)",
                        address=self._actual_address(call, None),
                        actual=pretty(call.arguments_json),
                    ),
                )
            key = (call.kind, call.name, call.args_hash)
            node = tape.take(parent, key)
            if node is None:
                node = self._take_redacted(parent, call)
            fault = self.options.faults.get((call.kind, call.name))
            if fault is not None and call.kind != "agent":
                # Every call of a faulted boundary raises, retries included: whether the recording
                # has the call no longer matters.
                if node is not None:
                    tape.consume_subtree(node)
                self._mark(call, "fault")
                return _Decision("raise", node, fault_exception(call.kind, call.name, fault))
            if node is None and call.kind != "agent" and self._runs_live(call):
                # A live boundary (a new prompt, another model) is asked other arguments than
                # recorded: it answers for itself, in place of the recorded call of that name.
                self._take_by_name(parent, call)
                return self._live(call)
            if node is None:
                return self._diverge(call, self._classify(parent, call))
            if call.kind == "agent":
                if node.name in self.options.stub_agents:
                    tape.consume_subtree(node)
                    self.server.skip(tape.drawn_inside(node))
                    self.stubbed += 1
                    return self._recorded(call, node, "stub")
                if ("agent", node.name) in self.options.live:
                    tape.consume_subtree(node)
                    return self._live(call)
                return _Decision("agent", node)
            tape.consume_subtree(node)  # calls nested in a tool body are not replayed either
            if (call.kind, call.name) in self.options.live or (call.kind, "*") in self.options.live:
                return self._live(call)
            for key_override in ((call.kind, call.name, node.number), (call.kind, call.name, None)):
                if key_override in self.options.overrides:
                    self.overridden.append(node.label)
                    self._mark(call, "override")
                    value = rebuild(self.options.overrides[key_override], _return_hint(call.func))
                    return _Decision("serve", node, value)
            self.served += 1
            return self._recorded(call, node, "tape")

    def _runs_live(self, call: BoundaryCall) -> bool:
        live = self.options.live
        return (call.kind, call.name) in live or (call.kind, "*") in live

    def _take_by_name(self, parent: RecordedCall, call: BoundaryCall) -> None:
        """Consume the first pending recorded call of the same kind and name in the current wave."""
        wave = self.tape.current_wave(parent)
        if wave is None:
            return
        same = next((c for c in wave.unconsumed() if c.kind == call.kind and c.name == call.name), None)
        if same is not None:
            taken = wave.take((same.kind, same.name, same.fingerprint))
            if taken is not None:
                taken.consumed = True
                self.tape.consume_subtree(taken)

    def _recorded(self, call: BoundaryCall, node: RecordedCall, source: str) -> _Decision:
        self._mark(call, source)
        if node.error is not None:
            return _Decision("raise", node, rebuild_exception(node.error[0], node.error[1], self.main_module))
        assert node.result_json is not None
        return _Decision("serve", node, decode_result(call.func, node.result_json))

    def _live(self, call: BoundaryCall) -> _Decision:
        self.live += 1
        self._mark(call, "live")
        return _Decision("live")

    def _mark(self, call: BoundaryCall, source: str) -> None:
        try:
            call.span.set_attribute(sc.REPLAY_SOURCE, source)
        except Exception:
            pass  # telemetry must not change the replay

    def _enter_root(self, call: BoundaryCall) -> _Decision:
        root = self.tape.root
        self.root_started = True
        root.consumed = True
        span = call.span
        try:
            span.set_attribute(sc.REPLAY_OF, self.tape.trace_id)
            span.set_attribute(sc.REPLAY_MODE, self.options.mode)
            if len(self.tape.trace_id) == 32 and len(root.span_id) == 16:
                original = SpanContext(
                    trace_id=int(self.tape.trace_id, 16),
                    span_id=int(root.span_id, 16),
                    is_remote=True,
                    trace_flags=TraceFlags(TraceFlags.SAMPLED),
                )
                span.add_link(original, {sc.REPLAY_OF: self.tape.trace_id})
            self.replay_trace_id = format(span.get_span_context().trace_id, "032x")
        except Exception:
            pass  # telemetry must not change the replay
        if call.args_hash != root.fingerprint or call.name != root.name:
            decision = self._diverge(
                call,
                Divergence(
                    kind="different_arguments" if call.name == root.name else "different_call",
                    message="the entry point was called with a different agent or input than recorded",
                    address=root.address(),
                    expected=pretty(root.arguments_json),
                    actual=pretty(call.arguments_json),
                    diff=unified_diff(pretty(root.arguments_json), pretty(call.arguments_json)),
                ),
            )
            if decision.action != "live":
                return decision
            # live mode: the root still runs as the replay's root (its calls go live), so the
            # report can compare its outcome.
        return _Decision("agent", root)

    def _diverge(self, call: BoundaryCall, divergence: Divergence) -> _Decision:
        if self.divergence is None:
            self.divergence = divergence
        if self.options.mode == "live":
            self.went_live = True
            return self._live(call)
        return _Decision("diverge", value=ReplayDiverged(self.divergence))

    def _actual_address(self, call: BoundaryCall, parent: RecordedCall | None) -> dict[str, Any]:
        same = 1
        if parent is not None:
            same += sum(1 for c in parent.children if c.consumed and c.kind == call.kind and c.name == call.name)
        return {
            "agent_path": list(call.agent_path),
            "kind": call.kind,
            "name": call.name,
            "ordinal": same,
            "number": None,
            "label": f"{call.kind}:{call.name}",
        }

    def _take_redacted(self, parent: RecordedCall, call: BoundaryCall) -> RecordedCall | None:
        """The pending recorded call this one is, when only the collector's redaction hides it.

        Recorded fingerprints hash the arguments before redaction, so a call whose recorded
        arguments hold ``<redacted:...>`` is matched on the values around the markers instead.
        """
        wave = self.tape.current_wave(parent)
        if wave is None:
            return None
        for node in wave.unconsumed():
            if (
                node.kind == call.kind
                and node.name == call.name
                and matches_redacted(node.arguments_json, call.arguments_json)
            ):
                return self.tape.take(parent, (node.kind, node.name, node.fingerprint))
        return None

    def _classify(self, parent: RecordedCall, call: BoundaryCall) -> Divergence:
        tape = self.tape
        wave = tape.current_wave(parent)
        pending = wave.unconsumed() if wave is not None else []
        actual = pretty(call.arguments_json)
        address = self._actual_address(call, parent)
        candidates = self._candidates(call)
        same_name = [c for c in pending if c.kind == call.kind and c.name == call.name]
        if same_name:
            expected = same_name[0]
            return Divergence(
                kind="different_arguments",
                message=f"{call.kind} {call.name!r} was called with arguments the recording does not have here",
                address=expected.address(),
                expected=pretty(expected.arguments_json),
                actual=actual,
                diff=unified_diff(pretty(expected.arguments_json), actual),
                candidates=candidates,
            )
        if pending and tape.later_match(parent, (call.kind, call.name, call.args_hash)) is not None:
            skipped = pending[0]
            return Divergence(
                kind="missing_call",
                message=f"the agent skipped {skipped.label}, which the recording makes before this call",
                address=skipped.address(),
                expected=pretty(skipped.arguments_json),
                actual=actual,
                diff=unified_diff(pretty(skipped.arguments_json), actual),
                candidates=candidates,
            )
        if not pending:
            if tape.truncated:
                return Divergence(
                    kind="end_of_recording",
                    message="the recording ends before this call: the original run did not finish "
                    "(its root span never arrived, e.g. the process crashed)",
                    address=address,
                    actual=actual,
                    candidates=candidates,
                )
            return Divergence(
                kind="extra_call",
                message=f"the agent made {call.kind}:{call.name} after the recorded calls here were used up",
                address=address,
                actual=actual,
                diff=unified_diff(None, actual),
                candidates=candidates,
            )
        expected = pending[0]
        return Divergence(
            kind="different_call",
            message=f"the agent called {call.kind}:{call.name} where the recording has {expected.label}",
            address=expected.address(),
            expected=pretty(expected.arguments_json),
            actual=actual,
            diff=unified_diff(pretty(expected.arguments_json), actual),
            candidates=candidates,
        )

    def _candidates(self, call: BoundaryCall, limit: int = 3) -> list[dict[str, Any]]:
        """The recorded calls closest to ``call``: same kind first, then name, then argument similarity."""
        scored: list[tuple[float, float, RecordedCall]] = []
        for node in self.tape.calls[1:]:
            if node.kind != call.kind:
                continue
            similarity = difflib.SequenceMatcher(None, node.arguments_json or "", call.arguments_json).ratio()
            score = (node.name == call.name) * 1.0 + similarity + (not node.consumed) * 0.25
            scored.append((score, similarity, node))
        scored.sort(key=lambda item: -item[0])
        return [
            {
                **node.address(),
                "arguments": node.arguments(),
                "similarity": round(similarity, 3),
                "consumed": node.consumed,
            }
            for _, similarity, node in scored[:limit]
        ]

    # --- after an agent's body -------------------------------------------------------------

    def _agent_done(self, call: BoundaryCall, node: RecordedCall, result: Any, exc: BaseException | None) -> None:
        """Check an agent's run against its recording: calls left over, then the output."""
        is_root = node is self.tape.root
        replayed = _outcome(result, exc)
        recorded = _recorded_outcome(node)
        if is_root:
            self.outcome = {"recorded": recorded, "replayed": replayed, "changed": recorded != replayed}
            if "stopped" in replayed:
                self.outcome["changed"] = None  # strict mode stopped before the agent finished
            if node.synthetic:
                self.outcome["changed"] = None  # the crashed run has no outcome to compare with
                self.notes.append("the original run never finished, so its outcome is unknown")
        if isinstance(exc, ReplayDiverged) or self.went_live or self.divergence is not None:
            self._finish_root(call, is_root)
            return
        with self.tape.lock:
            left = self.tape.unconsumed_children(node)
        divergence = None
        if left:
            skipped = left[0]
            divergence = Divergence(
                kind="missing_call",
                message=f"{node.kind}:{node.name} finished without making {len(left)} recorded call(s), "
                f"first {skipped.label}",
                address=skipped.address(),
                expected=pretty(skipped.arguments_json),
                diff=unified_diff(pretty(skipped.arguments_json), None),
            )
        elif not node.synthetic and recorded != replayed:
            divergence = Divergence(
                kind="different_output",
                message=f"agent {node.name!r} returned a different result than recorded",
                address=node.address(),
                expected=_outcome_text(recorded),
                actual=_outcome_text(replayed),
                diff=unified_diff(_outcome_text(recorded), _outcome_text(replayed)),
            )
        if divergence is not None:
            self.divergence = divergence
            if self.options.mode == "live":
                self.went_live = True
        self._finish_root(call, is_root)
        if divergence is not None and not is_root and self.options.mode == "strict":
            raise ReplayDiverged(divergence)

    def _finish_root(self, call: BoundaryCall, is_root: bool) -> None:
        if is_root and self.divergence is not None:
            try:
                call.span.set_attribute(sc.REPLAY_DIVERGED_AT, self.divergence.where)
            except Exception:
                pass

    # --- the interceptor -------------------------------------------------------------------

    def intercept(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any:
        """Serve, raise, run live, or run an agent's body under its recorded call (sync boundaries)."""
        decision = self._decide(call)
        if decision.action == "serve":
            return decision.value
        if decision.action in ("raise", "diverge"):
            raise decision.value
        if decision.action == "live":
            token = _parent.set(_LIVE)
            try:
                return proceed()
            finally:
                _parent.reset(token)
        assert decision.node is not None
        token = _parent.set(decision.node)
        try:
            result = self._killed_outcome(call, decision.node) if decision.node.killed else proceed()
        except BaseException as exc:
            _parent.reset(token)
            self._agent_done(call, decision.node, None, exc)
            raise
        _parent.reset(token)
        self._agent_done(call, decision.node, result, None)
        return result

    async def intercept_async(self, call: BoundaryCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        """The same as :meth:`intercept`, for async boundaries."""
        decision = self._decide(call)
        if decision.action == "serve":
            return decision.value
        if decision.action in ("raise", "diverge"):
            raise decision.value
        if decision.action == "live":
            token = _parent.set(_LIVE)
            try:
                return await proceed()
            finally:
                _parent.reset(token)
        assert decision.node is not None
        token = _parent.set(decision.node)
        try:
            result = self._killed_outcome(call, decision.node) if decision.node.killed else await proceed()
        except BaseException as exc:
            _parent.reset(token)
            self._agent_done(call, decision.node, None, exc)
            raise
        _parent.reset(token)
        self._agent_done(call, decision.node, result, None)
        return result

    def _killed_outcome(self, call: BoundaryCall, node: RecordedCall) -> Any:
        """What a call a kill switch stopped gave (AgentDisabled, or the fallback's value): its body never
        ran, so the replay does not run it either, whatever the switches say now."""
        self._mark(call, "killed")
        if node.error is not None:
            raise rebuild_exception(node.error[0], node.error[1], self.main_module)
        return decode_result(call.func, node.result_json) if node.result_json is not None else None

    # --- running ---------------------------------------------------------------------------

    def run(self, func: Callable[..., Any]) -> None:
        """Call ``func`` (the entry point) with the recorded input, with this engine intercepting."""
        root = self.tape.root
        assert root.arguments_json is not None
        try:
            args, kwargs = call_arguments(func, root.arguments_json)
        except (ValueError, TypeError) as exc:
            raise CannotReplay(f"the recorded input does not fit {root.entrypoint}: {exc}") from None
        self.main_module = sys.modules.get(getattr(func, "__module__", "") or "")
        # A fresh OpenTelemetry context: the replay is a new trace, not a child of the caller's span.
        otel_token = otel_context.attach(otel_context.Context())
        failure: BaseException | None = None
        try:
            with hooks.intercepting(self, context_only=self.options.context_only), hooks.serving(self.server):
                if inspect.iscoroutinefunction(func):
                    _run_coroutine(lambda: func(*args, **kwargs))
                else:
                    result = func(*args, **kwargs)
                    if inspect.isawaitable(result):
                        _run_coroutine(lambda: _await(result))
        except ReplayDiverged:
            pass  # the report holds the divergence
        except Exception as exc:
            failure = exc  # the agent's own exception: compared with the recorded outcome in _agent_done
        finally:
            otel_context.detach(otel_token)
        if not self.root_started:
            why = f" (it raised {type(failure).__name__}: {failure})" if failure is not None else ""
            raise CannotReplay(f"the entry point {root.entrypoint} never reached an @agent boundary{why}")

    def report(self, seconds: float = 0.0) -> ReplayReport:
        """The report of the finished run."""
        recorded_calls = sum(1 for c in self.tape.calls if c.kind != "agent")
        return ReplayReport(
            trace_id=self.tape.trace_id,
            status="diverged" if self.divergence is not None else "reproduced",
            mode=self.options.mode,
            entrypoint=self.tape.root.entrypoint,
            divergence=self.divergence,
            recorded_calls=recorded_calls,
            served=self.served,
            live=self.live,
            stubbed=self.stubbed,
            overridden=self.overridden,
            outcome=self.outcome,
            nondeterminism={
                "recorded": len(self.tape.nondeterminism),
                "served": self.server.served,
                "live": self.server.drawn_live,
            },
            truncated=self.tape.truncated,
            replay_trace_id=self.replay_trace_id,
            notes=self.notes,
            seconds=round(seconds, 4),
        )


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _run_coroutine(factory: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async entry point to completion, also when the caller is inside an event loop (async tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(factory()))
    # asyncio.run cannot nest: use a fresh loop in a worker thread, in a copy of this context.
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = context.run(asyncio.run, _await(factory()))
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="tracereel-replay")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _return_hint(func: Callable[..., Any]) -> Any:
    return hints(func).get("return")


def _outcome(result: Any, exc: BaseException | None) -> dict[str, Any]:
    if exc is not None:
        if isinstance(exc, ReplayDiverged):
            return {"stopped": "replay stopped at the first divergence"}
        return {"exception": exception_type_name(exc), "message": str(exc)}
    return {"output": json.loads(to_json(result))}


def _recorded_outcome(node: RecordedCall) -> dict[str, Any]:
    if node.error is not None:
        return {"exception": node.error[0], "message": node.error[1]}
    if node.result_json is None:
        return {"unknown": "not recorded"}
    return {"output": json.loads(node.result_json)}


def _outcome_text(outcome: dict[str, Any]) -> str:
    return json.dumps(outcome, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def timed_run(engine: Engine, func: Callable[..., Any]) -> ReplayReport:
    """Run ``engine`` on ``func`` and return its report with the wall time taken."""
    started = time.perf_counter()
    engine.run(func)
    return engine.report(time.perf_counter() - started)
