"""What the OpenAI and Anthropic wrappers share: a client method as an ``@llm`` boundary, streams included.

A wrapped ``create(**kwargs)`` becomes one ``chat {model}`` span whose arguments are
``{"model", "messages", "params"}`` (``params``: every other request argument except transport
ones, so the fingerprint replay matches by covers the tools, temperature and so on). The result
is the library's response object, recorded as its ``model_dump``; a stream (``stream=True``) is
recorded as the list of its events. Under replay the boundary serves the recorded JSON, rebuilt
here into the library's own response or event objects, so user code sees what it saw.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.trace import Span

from tracereel import semconv as sc
from tracereel.sdk.hooks import (
    OpenCall,
    boundary,
    get_interceptor,
    internal_error,
    open_call,
    run_call,
    run_call_async,
    to_json,
)

__all__ = ["Method", "ReplayedAsyncStream", "ReplayedStream", "wrap"]

# Request arguments that say how to send the request, not what to ask: left out of the fingerprint.
_TRANSPORT = frozenset({"extra_headers", "extra_query", "timeout"})
_RAW_RESPONSE_HEADER = "x-stainless-raw-response"


def _send(model: str | None, messages: Any, params: dict[str, Any]) -> Any:
    """The boundary's signature: what an LLM call records. The work is the closure given to ``run_call``."""
    raise NotImplementedError


async def _send_async(model: str | None, messages: Any, params: dict[str, Any]) -> Any:
    """The async twin of :func:`_send`."""
    raise NotImplementedError


@functools.cache
def _boundary(provider: str, is_async: bool) -> Callable[..., Any]:
    return boundary("llm", _send_async if is_async else _send, provider=provider)


@dataclass(frozen=True)
class Method:
    """One client method wrapped as an LLM boundary, and how to read and rebuild what it returns."""

    provider: str  # gen_ai.provider.name
    messages_key: str  # the argument holding the conversation ("messages", or "input" for OpenAI responses)
    is_async: bool
    response: Callable[[Any], Any]  # a recorded response (parsed JSON) -> the library's response object
    event: Callable[[Any], Any]  # a recorded stream event (parsed JSON) -> the library's event object
    tool_calls: Callable[[Any], list[dict[str, Any]]]  # the tool calls a response asks for


def _omitted(value: object) -> bool:
    # The clients' "argument not given" sentinels (NotGiven, Omit): not part of the request.
    return type(value).__name__ in ("NotGiven", "Omit")


def _raw_response(kwargs: dict[str, Any]) -> bool:
    """``with_raw_response`` / ``with_streaming_response`` calls: they return HTTP responses, not models."""
    headers = kwargs.get("extra_headers")
    if not isinstance(headers, dict):
        return False
    return any(str(k).lower() == _RAW_RESPONSE_HEADER for k in cast(dict[str, Any], headers))


def _split(method: Method, kwargs: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    key = method.messages_key
    model: Any = None
    messages: Any = None
    params: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name == key:
            messages = value
        elif name == "model":
            model = None if _omitted(value) else value
        elif name not in _TRANSPORT and not _omitted(value):
            params[name] = value
    if messages is not None and not isinstance(messages, str | list | tuple | dict):
        # An iterable (a generator) would be used up by recording it: send the list instead.
        messages = kwargs[key] = list(messages)
    if not params.get("stream"):
        params.pop("stream", None)  # stream=False and no stream are the same request
    return model, cast(Any, messages), params


# The JSON of tool definitions seen lately, by the id of the list passed: an agent passes the
# same definitions on every call, and serialising them was the largest cost instrumenting added
# (bench/sdk_overhead.py). An entry is used only while the list still equals what was serialised.
_TOOLS_SEEN: dict[int, tuple[Any, str]] = {}


def _tools_json(tools: Any) -> str:
    try:
        seen = _TOOLS_SEEN.get(id(tools))
        if seen is not None and seen[0] == tools:
            return seen[1]
        text = to_json(tools)
        snapshot = json.loads(text)
        if snapshot == tools:  # plain JSON data (not objects the JSON only describes): safe to reuse
            if len(_TOOLS_SEEN) >= 64:
                _TOOLS_SEEN.clear()
            _TOOLS_SEEN[id(tools)] = (snapshot, text)
        return text
    except Exception:  # an object whose == raises: the agent's call must still go through
        internal_error("reading the tool definitions of an LLM call")
        return to_json(tools)


def _request_attributes(params: dict[str, Any]) -> dict[str, Any] | None:
    """Span attributes describing the request beyond its arguments: the tool definitions offered."""
    tools = params.get("tools")
    return {sc.TOOL_DEFINITIONS: _tools_json(tools)} if tools else None


def _describe_response(span: Span, method: Method, result: Any) -> None:
    try:
        calls = method.tool_calls(result)
        if calls:
            span.set_attribute(sc.LLM_TOOL_CALLS, to_json(calls))
    except Exception:
        internal_error("reading the tool calls of an LLM response")


def _describe_stream(span: Span, events: list[Any]) -> None:
    """Usage and model of a streamed response, from whichever events carry them."""
    tokens_in = tokens_out = None
    model = None
    for event in events:
        for holder in (event, getattr(event, "message", None), getattr(event, "response", None)):
            usage = getattr(holder, "usage", None)
            if usage is None:
                continue
            got_in = getattr(usage, "input_tokens", None) or getattr(usage, "prompt_tokens", None)
            got_out = getattr(usage, "output_tokens", None) or getattr(usage, "completion_tokens", None)
            if isinstance(got_in, int) and got_in:
                tokens_in = got_in
            if isinstance(got_out, int) and got_out:
                tokens_out = got_out
        for holder in (event, getattr(event, "message", None), getattr(event, "response", None)):
            found = getattr(holder, "model", None)
            if isinstance(found, str) and found:
                model = found
    if tokens_in is not None:
        span.set_attribute(sc.USAGE_INPUT_TOKENS, tokens_in)
    if tokens_out is not None:
        span.set_attribute(sc.USAGE_OUTPUT_TOKENS, tokens_out)
    if model is not None:
        span.set_attribute(sc.RESPONSE_MODEL, model)


def _events(method: Method, recorded: list[Any]) -> list[Any]:
    return [method.event(e) for e in recorded]


def _dump(value: Any) -> Any:
    """What a response or event is recorded as: the fields the provider sent, by their wire names.

    Only the fields that were set: an object rebuilt from it on replay then dumps (and is sent
    on, e.g. by the Agents SDK as the next request's input) exactly like the live one.
    """
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True, by_alias=True)
    return value


def wrap(method: Method, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (an unbound client method taking keyword arguments) as an LLM boundary."""
    if method.is_async:

        @functools.wraps(original)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if args or _raw_response(kwargs):
                return await original(self, *args, **kwargs)
            return await _call_async(method, original, self, kwargs)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(original)
        def sync_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if args or _raw_response(kwargs):
                return original(self, *args, **kwargs)
            return _call_sync(method, original, self, kwargs)

        wrapper = sync_wrapper
    wrapper.__tracereel_original__ = original  # type: ignore[attr-defined]
    return wrapper


def _keep(span: Span, method: Method, result: Any, streamed: bool, live: list[Any]) -> Any:
    """Describe a live result on its (LLM) span, keep the library's object, return what is recorded."""
    live.append(result)
    if streamed:
        _describe_stream(span, result)
        return [_dump(e) for e in result]
    _describe_response(span, method, result)
    return _dump(result)


def _failed_to_start(call: OpenCall, exc: BaseException) -> None:
    call.release()
    call.fail(exc)


def _call_sync(method: Method, original: Callable[..., Any], client: Any, kwargs: dict[str, Any]) -> Any:
    model, messages, params = _split(method, kwargs)
    streamed = bool(params.get("stream"))
    wrapper = _boundary(method.provider, False)
    if streamed and get_interceptor() is None:
        call = open_call(wrapper, _request_attributes(params), model=model, messages=messages, params=params)
        try:
            stream = original(client, **kwargs)
        except BaseException as exc:
            _failed_to_start(call, exc)
            raise
        call.release()
        return _RecordingStream(stream, call)

    def send() -> Any:
        result = original(client, **kwargs)
        # A stream in a replay running this call live: the events are read here, then served as a stream.
        return _keep(trace.get_current_span(), method, list(result) if streamed else result, streamed, live)

    live: list[Any] = []  # the library's own objects when the call ran (not served from a recording)
    result = run_call(wrapper, send, _request_attributes(params), model=model, messages=messages, params=params)
    if streamed:
        return ReplayedStream(live[0] if live else _events(method, result))
    return live[0] if live else method.response(result)


async def _call_async(method: Method, original: Callable[..., Any], client: Any, kwargs: dict[str, Any]) -> Any:
    model, messages, params = _split(method, kwargs)
    streamed = bool(params.get("stream"))
    wrapper = _boundary(method.provider, True)
    if streamed and get_interceptor() is None:
        call = open_call(wrapper, _request_attributes(params), model=model, messages=messages, params=params)
        try:
            stream = await original(client, **kwargs)
        except BaseException as exc:
            _failed_to_start(call, exc)
            raise
        call.release()
        return _RecordingAsyncStream(stream, call)

    async def send() -> Any:
        result = await original(client, **kwargs)
        return _keep(
            trace.get_current_span(), method, [event async for event in result] if streamed else result, streamed, live
        )

    live: list[Any] = []
    result = await run_call_async(
        wrapper, send, _request_attributes(params), model=model, messages=messages, params=params
    )
    if streamed:
        return ReplayedAsyncStream(live[0] if live else _events(method, result))
    return live[0] if live else method.response(result)


class _Recording:
    """What the recording stream wrappers share: the events read so far and the open span."""

    def __init__(self, inner: Any, call: OpenCall) -> None:
        self._inner = inner
        self._call = call
        self._events: list[Any] = []
        self._done = False

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            _describe_stream(self._call.span, self._events)
        except Exception:
            internal_error("reading a streamed LLM response")
        self._call.succeed([_dump(e) for e in self._events])

    def _failed(self, exc: BaseException) -> None:
        self._done = True
        self._call.fail(exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _RecordingStream(_Recording):
    """The library's stream, passed through event by event; the span ends when it is used up or closed."""

    def __init__(self, inner: Any, call: OpenCall) -> None:
        super().__init__(inner, call)
        self._iterator: Iterator[Any] = iter(inner)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            event = next(self._iterator)
        except StopIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._events.append(event)
        return event

    def close(self) -> None:
        """Close the underlying stream; what was read so far is recorded."""
        try:
            self._inner.close()
        finally:
            self._finish()

    def __enter__(self) -> _RecordingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _RecordingAsyncStream(_Recording):
    """The async twin of :class:`_RecordingStream`."""

    def __init__(self, inner: Any, call: OpenCall) -> None:
        super().__init__(inner, call)
        self._iterator: AsyncIterator[Any] = inner.__aiter__()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            event = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._events.append(event)
        return event

    async def close(self) -> None:
        """Close the underlying stream; what was read so far is recorded."""
        try:
            await self._inner.close()
        finally:
            self._finish()

    async def __aenter__(self) -> _RecordingAsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ReplayedStream:
    """A recorded stream served back: iterates the recorded events as the library's event objects."""

    def __init__(self, events: list[Any]) -> None:
        self._events = iter(events)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        """Nothing to close: the events come from the recording."""

    def __enter__(self) -> ReplayedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReplayedAsyncStream:
    """The async twin of :class:`ReplayedStream`."""

    def __init__(self, events: list[Any]) -> None:
        self._events = iter(events)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._events)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        """Nothing to close: the events come from the recording."""

    async def __aenter__(self) -> ReplayedAsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def rebuilder(target: Any, construct: Callable[..., Any]) -> Callable[[Any], Any]:
    """A function turning recorded JSON into ``target`` (a model class or a union of them).

    ``construct(value=..., type_=...)`` is the library's own lenient constructor, the one it
    builds responses with (so a field the provider left out does not fail the replay). A value
    that is not JSON (a live response or event) is returned as is.
    """

    def rebuild(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        try:
            return construct(value=value, type_=target)
        except Exception:
            internal_error(f"rebuilding a recorded {getattr(target, '__name__', 'event')}")
            return cast(Any, value)

    return rebuild
