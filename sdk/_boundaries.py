"""The ``@agent``, ``@tool`` and ``@llm`` decorators: each call becomes a span.

A boundary records what replay needs (entry point, arguments, result or exception) and
hands the call to the replay interceptor when one is installed. Telemetry failures are
swallowed; the agent's own exceptions always propagate unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from tracereel import semconv as sc
from tracereel.sdk import _nondeterminism as nondet
from tracereel.sdk import _switches as switches
from tracereel.sdk._intercept import BoundaryCall, Kind, get_interceptor
from tracereel.sdk._runtime import clock_ns, internal_error, new_call_id, tracer
from tracereel.sdk._serialize import args_hash, to_json

__all__ = [
    "OpenCall",
    "agent",
    "boundary",
    "current_agent_path",
    "exception_type_name",
    "llm",
    "open_call",
    "task_root_span",
    "tool",
]

F = TypeVar("F", bound=Callable[..., Any])

_agent_path: ContextVar[tuple[str, ...]] = ContextVar("tracereel_agent_path", default=())
_task_root: ContextVar[Span | None] = ContextVar("tracereel_task_root", default=None)
_SKIPPED_PARAMS = ("self", "cls")


class _NoFallback:
    """``@agent`` without ``fallback=``: a killed call raises :class:`AgentDisabled`."""

    def __repr__(self) -> str:
        return "NO_FALLBACK"


NO_FALLBACK: Any = _NoFallback()


def current_agent_path() -> tuple[str, ...]:
    """Names of the ``@agent`` calls enclosing the caller, outermost first."""
    return _agent_path.get()


def task_root_span() -> Span | None:
    """The outermost ``@agent`` span of the current task, if any."""
    return _task_root.get()


class _Spec:
    """What a decorated function records, computed once at decoration time."""

    __slots__ = (
        "defaults",
        "entrypoint",
        "fallback",
        "func",
        "kind",
        "model",
        "name",
        "param_names",
        "provider",
        "sig",
        "skip_first",
        "static_attrs",
        "version",
    )

    def __init__(
        self,
        kind: Kind,
        func: Callable[..., Any],
        name: str | None,
        *,
        version: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        fallback: Any = NO_FALLBACK,
    ) -> None:
        self.kind = kind
        self.func = func
        self.fallback = fallback
        self.name = name or getattr(func, "__name__", "unnamed")
        self.version = version
        self.model = model
        self.provider = provider
        try:
            self.sig: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            self.sig = None
        # Plain positional-or-keyword parameters bind without inspect (its bind() was the
        # largest single cost per call in bench/sdk_overhead.py).
        self.param_names: tuple[str, ...] | None = None
        self.defaults: dict[str, Any] = {}
        self.skip_first = False
        if self.sig is not None:
            params = list(self.sig.parameters.values())
            if all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
                self.param_names = tuple(p.name for p in params)
                self.defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
                self.skip_first = bool(params) and params[0].name in _SKIPPED_PARAMS
        self.entrypoint = f"{func.__module__}:{func.__qualname__}"
        # Replay swaps ``from time import time``-style names in modules that define boundaries.
        nondet.register_module(func.__module__)
        attrs: dict[str, Any] = {}
        if kind == "agent":
            attrs[sc.OPERATION_NAME] = sc.OP_INVOKE_AGENT
            attrs[sc.AGENT_NAME] = self.name
            if version is not None:
                attrs[sc.AGENT_VERSION] = version
            attrs[sc.ENTRYPOINT] = self.entrypoint
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            if func.__module__ == "__main__" and main_file:
                # ``__main__`` cannot be imported by name later: replay loads the script from its file.
                attrs[sc.ENTRYPOINT_FILE] = os.path.abspath(main_file)
        elif kind == "tool":
            attrs[sc.OPERATION_NAME] = sc.OP_EXECUTE_TOOL
            attrs[sc.TOOL_NAME] = self.name
        else:
            attrs[sc.OPERATION_NAME] = sc.OP_CHAT
            if provider is not None:
                attrs[sc.PROVIDER_NAME] = provider
        self.static_attrs = attrs


class _Call:
    __slots__ = ("boundary", "nondet_token", "path_token", "root_token", "span", "token")

    def __init__(self) -> None:
        self.token: object | None = None
        self.path_token: Token[tuple[str, ...]] | None = None
        self.root_token: Token[Span | None] | None = None
        self.nondet_token: Token[nondet.Scope | None] | None = None


def _bind(spec: _Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    names = spec.param_names
    if names is not None and len(args) <= len(names):
        arguments = dict(zip(names, args, strict=False))  # fewer args than names: defaults fill in
        complete = True
        for key, value in kwargs.items():
            if key in arguments or key not in names:
                complete = False  # a wrong call: let inspect (and then the function) say so
                break
            arguments[key] = value
        if complete and len(arguments) < len(names):
            for key in names:
                if key not in arguments:
                    if key not in spec.defaults:
                        complete = False
                        break
                    arguments[key] = spec.defaults[key]
        if complete:
            if spec.skip_first:
                del arguments[names[0]]
            return arguments
    if spec.sig is not None:
        try:
            bound = spec.sig.bind(*args, **kwargs)
        except TypeError:
            pass  # the call itself is wrong; the function will say so when it runs
        else:
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            for skipped in _SKIPPED_PARAMS:
                if skipped in arguments and next(iter(arguments)) == skipped:
                    del arguments[skipped]
            return arguments
    return {"args": list(args), "kwargs": kwargs}


def _start(
    spec: _Spec,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    intercepting: bool,
    arguments: dict[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> _Call:
    if arguments is None:
        arguments = _bind(spec, args, kwargs)
    arguments_json = to_json(arguments)
    digest = args_hash(arguments_json)
    attrs = dict(spec.static_attrs)
    if attributes:
        attrs.update(attributes)
    name = spec.name
    if spec.kind == "tool":
        attrs[sc.TOOL_CALL_ID] = new_call_id()
        attrs[sc.TOOL_CALL_ARGUMENTS] = arguments_json
        attrs[sc.ARGS_HASH] = digest
        span_name = f"{sc.OP_EXECUTE_TOOL} {name}"
    elif spec.kind == "llm":
        model = spec.model or str(arguments.get("model") or "unknown")
        name = model
        attrs[sc.REQUEST_MODEL] = model
        if "messages" in arguments:
            attrs[sc.INPUT_MESSAGES] = to_json(arguments["messages"])
            if len(arguments) > 1:
                attrs[sc.LLM_ARGUMENTS] = arguments_json
        else:
            attrs[sc.INPUT_MESSAGES] = arguments_json
        attrs[sc.ARGS_HASH] = digest
        span_name = f"{sc.OP_CHAT} {model}"
    else:
        attrs[sc.AGENT_INPUT] = arguments_json
        span_name = f"{sc.OP_INVOKE_AGENT} {name}"

    # Only replay needs the call described as a BoundaryCall: normal runs skip building it.
    parent = trace.get_current_span().get_span_context() if intercepting else None
    span = tracer().start_span(span_name, attributes=attrs, start_time=clock_ns())
    call = _Call()
    call.span = span
    call.token = otel_context.attach(trace.set_span_in_context(span))
    path = _agent_path.get()
    # Wall clock / random / uuid values drawn since the previous boundary go on this span.
    nondet.flush_to(span)
    if spec.kind == "agent":
        call.path_token = _agent_path.set((*path, name))
        if _task_root.get() is None:
            call.root_token = _task_root.set(span)
            call.nondet_token = nondet.enter_task()
            _mark_task_start(spec, span, attrs)
    if parent is None:
        return call
    call.boundary = BoundaryCall(
        kind=cast(Kind, spec.kind),
        name=name,
        func=spec.func,
        arguments=arguments,
        arguments_json=arguments_json,
        args_hash=digest,
        span=span,
        agent_path=path,
        parent_span_id=parent.span_id if parent.is_valid else 0,
    )
    return call


def _mark_task_start(spec: _Spec, root: Span, attrs: dict[str, Any]) -> None:
    """Export a zero-length child of the root now: if the process dies, the root span is lost,
    but replay still finds the entry point and input here."""
    marker = {sc.TASK_START: True, sc.AGENT_NAME: spec.name, sc.AGENT_INPUT: attrs[sc.AGENT_INPUT]}
    for key in (sc.ENTRYPOINT, sc.ENTRYPOINT_FILE, sc.AGENT_VERSION):
        if key in attrs:
            marker[key] = attrs[key]
    now = clock_ns()
    tracer().start_span(
        sc.TASK_START_SPAN_PREFIX + spec.name,
        context=trace.set_span_in_context(root),
        attributes=marker,
        start_time=now,
    ).end(end_time=now)


def _usage_field(usage: Any, *names: str) -> int | None:
    for name in names:
        value: object = cast(dict[str, Any], usage).get(name) if isinstance(usage, dict) else getattr(usage, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _record_llm_result(span: Span, result: object) -> None:
    span.set_attribute(sc.OUTPUT_MESSAGES, to_json(result))
    usage: object
    model: object
    if isinstance(result, dict):
        mapping = cast(dict[str, Any], result)
        usage, model = mapping.get("usage"), mapping.get("model")
    else:
        usage, model = getattr(result, "usage", None), getattr(result, "model", None)
    recorded: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    if usage is not None:
        # OpenAI chat: prompt/completion_tokens; OpenAI responses and Anthropic: input/output_tokens.
        tokens_in = _usage_field(usage, "input_tokens", "prompt_tokens")
        tokens_out = _usage_field(usage, "output_tokens", "completion_tokens")
        if tokens_in is not None and sc.USAGE_INPUT_TOKENS not in recorded:
            span.set_attribute(sc.USAGE_INPUT_TOKENS, tokens_in)
        if tokens_out is not None and sc.USAGE_OUTPUT_TOKENS not in recorded:
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, tokens_out)
    if isinstance(model, str) and sc.RESPONSE_MODEL not in recorded:
        span.set_attribute(sc.RESPONSE_MODEL, model)


def _succeed(spec: _Spec, call: _Call, result: Any) -> None:
    try:
        span = call.span
        if spec.kind == "tool":
            span.set_attribute(sc.TOOL_CALL_RESULT, to_json(result))
        elif spec.kind == "llm":
            _record_llm_result(span, result)
        else:
            span.set_attribute(sc.AGENT_OUTPUT, to_json(result))
    except Exception:
        internal_error("recording a result")
    _finish(call)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError | asyncio.TimeoutError | concurrent.futures.TimeoutError) or (
        "timeout" in type(exc).__name__.lower()
    )


def exception_type_name(exc: BaseException) -> str:
    """Fully qualified class name of ``exc`` (builtins by their bare name), as replay imports it."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _fail(call: _Call, exc: BaseException) -> None:
    try:
        span = call.span
        type_name = exception_type_name(exc)
        span.record_exception(exc, attributes={"exception.type": type_name}, timestamp=clock_ns(), escaped=True)
        span.set_attribute(sc.ERROR_TYPE, sc.TIMEOUT_ERROR_TYPE if _is_timeout(exc) else type_name)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    except Exception:
        internal_error("recording an exception")
    _finish(call)


def _finish(call: _Call) -> None:
    if call.nondet_token is not None:
        try:
            nondet.exit_task(call.nondet_token, call.span)
        except Exception:
            internal_error("ending nondeterminism recording")
    elif call.path_token is not None:
        # A sub-agent keeps what it drew after its last call on its own span, so replay can skip
        # exactly its values when the sub-agent is stubbed.
        nondet.flush_end(call.span)
    try:
        if call.root_token is not None:
            _task_root.reset(call.root_token)
        if call.path_token is not None:
            _agent_path.reset(call.path_token)
        if call.token is not None:
            otel_context.detach(call.token)  # type: ignore[arg-type]
    except Exception:
        internal_error("leaving a span's context")
    try:
        call.span.end(end_time=clock_ns())
    except Exception:
        internal_error("ending a span")


def _blocked(spec: _Spec) -> str | None:
    """The reason a kill switch stops this agent call, or None (also when the lookup itself fails)."""
    try:
        if not switches.state.running:
            switches.ensure_started()  # once per process (after a fork, the child's first call)
        return switches.blocked(spec.name, spec.version)
    except Exception:
        internal_error("checking the kill switches")
        return None


def _killed(
    spec: _Spec, call: _Call, reason: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, is_async: bool = False
) -> Any:
    """End a killed call without running its body: raise AgentDisabled, or return the fallback.

    A callable fallback is called with the call's arguments (an async one's awaitable is returned
    for the async wrapper to await, with the span still current); anything else is returned as it is.
    """
    try:
        call.span.set_attribute(sc.KILLED, True)
        call.span.set_attribute(sc.KILLED_REASON, reason)
    except Exception:
        internal_error("marking a killed call")
    if spec.fallback is NO_FALLBACK:
        exc = switches.AgentDisabled(spec.name, spec.version, reason)
        _fail(call, exc)
        raise exc
    if not callable(spec.fallback):
        _succeed(spec, call, spec.fallback)
        return spec.fallback
    try:
        result = spec.fallback(*args, **kwargs)
    except BaseException as exc:
        _fail(call, exc)
        raise
    if is_async and inspect.isawaitable(result):
        return _await_fallback(spec, call, result)
    _succeed(spec, call, result)
    return result


async def _await_fallback(spec: _Spec, call: _Call, pending: Any) -> Any:
    try:
        result = await pending
    except BaseException as exc:
        _fail(call, exc)
        raise
    _succeed(spec, call, result)
    return result


def _decorate(spec: _Spec) -> Callable[..., Any]:
    func = spec.func
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            interceptor = get_interceptor()
            try:
                call = _start(spec, args, kwargs, interceptor is not None)
            except Exception:
                internal_error(f"starting a {spec.kind} span")
                return await func(*args, **kwargs)
            # Not under replay: a replay re-runs what was recorded, whatever the switches say now.
            if spec.kind == "agent" and interceptor is None:
                reason = _blocked(spec)
                if reason is not None:
                    result = _killed(spec, call, reason, args, kwargs, is_async=True)
                    return await result if inspect.isawaitable(result) else result
            # A tool or LLM body is not re-run by replay: what it draws is neither recorded nor served.
            hidden = nondet.hide() if spec.kind != "agent" else None
            try:
                if interceptor is None:
                    result = await func(*args, **kwargs)
                else:
                    result = await interceptor.intercept_async(call.boundary, lambda: func(*args, **kwargs))
            except BaseException as exc:
                _fail(call, exc)
                raise
            finally:
                if hidden is not None:
                    nondet.unhide(hidden)
            _succeed(spec, call, result)
            return result

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            interceptor = get_interceptor()
            try:
                call = _start(spec, args, kwargs, interceptor is not None)
            except Exception:
                internal_error(f"starting a {spec.kind} span")
                return func(*args, **kwargs)
            if spec.kind == "agent" and interceptor is None:
                reason = _blocked(spec)
                if reason is not None:
                    return _killed(spec, call, reason, args, kwargs)
            hidden = nondet.hide() if spec.kind != "agent" else None
            try:
                if interceptor is None:
                    result = func(*args, **kwargs)
                else:
                    result = interceptor.intercept(call.boundary, lambda: func(*args, **kwargs))
            except BaseException as exc:
                _fail(call, exc)
                raise
            finally:
                if hidden is not None:
                    nondet.unhide(hidden)
            _succeed(spec, call, result)
            return result

        wrapper = sync_wrapper
    wrapper.__tracereel_spec__ = spec  # type: ignore[attr-defined]
    return wrapper


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
    like a decorated function. (Integrations wrap client methods with it: ``hooks.boundary``.)
    """
    if kind == "llm":
        return _decorate(_Spec("llm", func, None, model=model, provider=provider))
    return _decorate(_Spec(kind, func, name, version=version if kind == "agent" else None))


class OpenCall:
    """A boundary call whose result arrives after the call returns (a streamed LLM response).

    Its span stays open until :meth:`succeed` or :meth:`fail` (the first of them wins; later
    calls do nothing); :meth:`release` makes it stop being the current span before that.
    """

    __slots__ = ("_call", "_done", "_spec", "span")

    def __init__(self, spec: _Spec, call: _Call) -> None:
        self._spec = spec
        self._call = call
        self._done = False
        self.span: Span = call.span

    def release(self) -> None:
        """Stop being the current span (the span stays open)."""
        token, self._call.token = self._call.token, None
        if token is not None:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception:
                internal_error("leaving a span's context")

    def succeed(self, result: Any) -> None:
        """Record ``result`` and end the span."""
        if not self._done:
            self._done = True
            _succeed(self._spec, self._call, result)

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` (status ERROR, ``error.type``) and end the span."""
        if not self._done:
            self._done = True
            _fail(self._call, exc)


def open_call(wrapper: Callable[..., Any], attributes: Mapping[str, Any] | None, /, **arguments: Any) -> OpenCall:
    """Start a call of ``wrapper`` (made by :func:`boundary`) with ``arguments``; its span is current.

    For results consumed after the call returns (a stream): start the request, call
    :meth:`OpenCall.release` so the caller's code is not inside the span, and end it with
    :meth:`OpenCall.succeed` or :meth:`OpenCall.fail`. ``attributes`` go on the span as it
    starts, as with :func:`run_call`. Not intercepted: under replay use :func:`run_call`.
    """
    spec: _Spec = wrapper.__tracereel_spec__  # type: ignore[attr-defined]
    return OpenCall(spec, _start(spec, (), {}, False, arguments, attributes))


def run_call(
    wrapper: Callable[..., Any], send: Callable[[], Any], attributes: Mapping[str, Any] | None, /, **arguments: Any
) -> Any:
    """A call of ``wrapper``'s boundary (made by :func:`boundary`) recording ``arguments``, ``send()`` doing its work.

    The same span, recording and interception as calling ``wrapper(**arguments)``, for a caller
    that already holds the arguments by name and the work as a closure (a wrapped client
    method): no signature binding, no call through the wrapped function. ``attributes`` go on
    the span as it starts. A tool or LLM boundary.
    """
    spec: _Spec = wrapper.__tracereel_spec__  # type: ignore[attr-defined]
    interceptor = get_interceptor()
    try:
        call = _start(spec, (), {}, interceptor is not None, arguments, attributes)
    except Exception:
        internal_error(f"starting a {spec.kind} span")
        return send()
    hidden = nondet.hide()
    try:
        result = send() if interceptor is None else interceptor.intercept(call.boundary, send)
    except BaseException as exc:
        _fail(call, exc)
        raise
    finally:
        if hidden is not None:
            nondet.unhide(hidden)
    _succeed(spec, call, result)
    return result


async def run_call_async(
    wrapper: Callable[..., Any],
    send: Callable[[], Awaitable[Any]],
    attributes: Mapping[str, Any] | None,
    /,
    **arguments: Any,
) -> Any:
    """The async twin of :func:`run_call`: ``send()`` returns an awaitable."""
    spec: _Spec = wrapper.__tracereel_spec__  # type: ignore[attr-defined]
    interceptor = get_interceptor()
    try:
        call = _start(spec, (), {}, interceptor is not None, arguments, attributes)
    except Exception:
        internal_error(f"starting a {spec.kind} span")
        return await send()
    hidden = nondet.hide()
    try:
        result = await (send() if interceptor is None else interceptor.intercept_async(call.boundary, send))
    except BaseException as exc:
        _fail(call, exc)
        raise
    finally:
        if hidden is not None:
            nondet.unhide(hidden)
    _succeed(spec, call, result)
    return result


@overload
def agent(func: F, /) -> F: ...
@overload
def agent(
    name: str | None = None, /, *, version: str | None = None, fallback: Any = NO_FALLBACK
) -> Callable[[F], F]: ...
def agent(
    func: Any = None, /, *, name: str | None = None, version: str | None = None, fallback: Any = NO_FALLBACK
) -> Any:
    """Trace each call of the decorated function as an agent invocation.

    The outermost agent call of a task is the trace's root; an agent called from inside
    another is a sub-agent handoff. Usable bare (``@agent``) or with options
    (``@agent(name="support", version="1.2")``); works on sync and async functions.

    When a kill switch matches the agent (its name, version and the service), a call does not
    run the body: it raises :class:`tracereel.AgentDisabled`, or with ``fallback=`` returns it.
    A callable ``fallback`` is called with the call's arguments and its result returned (awaited
    for an async agent, if it is awaitable); any other value is returned as it is (to return a
    function, wrap it: ``fallback=lambda *a, **k: func``). The span records ``tracereel.killed``.
    """
    if callable(func):
        return _decorate(_Spec("agent", func, name, version=version, fallback=fallback))
    name = func if isinstance(func, str) else name

    def decorate(f: F) -> F:
        return cast(F, _decorate(_Spec("agent", f, name, version=version, fallback=fallback)))

    return decorate


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(name: str | None = None, /) -> Callable[[F], F]: ...
def tool(func: Any = None, /, *, name: str | None = None) -> Any:
    """Trace each call of the decorated function as a tool call (``execute_tool {name}``).

    Arguments and the result are recorded as JSON; an exception marks the span ERROR with
    ``error.type`` (``timeout`` for timeouts) and is re-raised unchanged.
    """
    if callable(func):
        return _decorate(_Spec("tool", func, name))
    name = func if isinstance(func, str) else name

    def decorate(f: F) -> F:
        return cast(F, _decorate(_Spec("tool", f, name)))

    return decorate


@overload
def llm(func: F, /) -> F: ...
@overload
def llm(*, model: str | None = None, provider: str | None = None) -> Callable[[F], F]: ...
def llm(func: Any = None, /, *, model: str | None = None, provider: str | None = None) -> Any:
    """Trace each call of the decorated function, which makes an LLM call, as ``chat {model}``.

    The model is the decorator's ``model``, else the call's ``model`` argument. Token usage
    is read from an OpenAI- or Anthropic-shaped return value (``.usage``), or set inside the
    call with :func:`tracereel.record_usage`.
    """
    if callable(func):
        return _decorate(_Spec("llm", func, None, model=model, provider=provider))

    def decorate(f: F) -> F:
        return cast(F, _decorate(_Spec("llm", f, None, model=model, provider=provider)))

    return decorate
