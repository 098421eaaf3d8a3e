"""The official OpenAI client: chat completions and responses, sync and async, as ``@llm`` boundaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openai._models import construct_type
from openai.resources.chat.completions.completions import (
    AsyncCompletions,
    AsyncCompletionsWithStreamingResponse,
    Completions,
    CompletionsWithStreamingResponse,
)
from openai.resources.responses.responses import (
    AsyncResponses,
    AsyncResponsesWithStreamingResponse,
    Responses,
    ResponsesWithStreamingResponse,
)
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from tracereel.sdk.integrations._llm import Method, rebuilder

__all__ = ["PROVIDER", "helpers", "methods"]

PROVIDER = "openai"


def _chat_tool_calls(response: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    choices: list[Any] = getattr(response, "choices", None) or []
    for choice in choices:
        asked: list[Any] = getattr(getattr(choice, "message", None), "tool_calls", None) or []
        for call in asked:
            function: Any = getattr(call, "function", None)
            if function is not None:
                calls.append({"id": call.id, "name": function.name, "arguments": function.arguments})
    return calls


def _responses_tool_calls(response: Any) -> list[dict[str, Any]]:
    items: list[Any] = getattr(response, "output", None) or []
    return [
        {"id": item.call_id, "name": item.name, "arguments": item.arguments}
        for item in items
        if getattr(item, "type", None) == "function_call"
    ]


def methods() -> list[tuple[type, str, Method]]:
    """Every method this integration wraps: (class, attribute, how)."""
    chat = rebuilder(ChatCompletion, construct_type)
    chunk = rebuilder(ChatCompletionChunk, construct_type)
    response = rebuilder(Response, construct_type)
    event = rebuilder(ResponseStreamEvent, construct_type)
    out: list[tuple[type, str, Method]] = []
    for cls, is_async in ((Completions, False), (AsyncCompletions, True)):
        out.append((cls, "create", Method(PROVIDER, "messages", is_async, chat, chunk, _chat_tool_calls)))
    for cls, is_async in ((Responses, False), (AsyncResponses, True)):
        out.append((cls, "create", Method(PROVIDER, "input", is_async, response, event, _responses_tool_calls)))
    return out


class _StreamedResponse:
    """What ``with_streaming_response.create(stream=True)`` enters, over the wrapped ``create``:
    ``parse()`` gives the recorded (or, on replay, replayed) event stream. No HTTP response is
    exposed (``request_id`` is None)."""

    request_id = None

    def __init__(self, resource: Any, kwargs: dict[str, Any]) -> None:
        self._resource = resource
        self._kwargs = kwargs
        self._stream: Any = None

    def __enter__(self) -> _StreamedResponse:
        self._stream = self._resource.create(**self._kwargs)
        return self

    def parse(self) -> Any:
        """The event stream."""
        return self._stream

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.close()


class _AsyncStreamedResponse(_StreamedResponse):
    """The async twin of :class:`_StreamedResponse`."""

    async def __aenter__(self) -> _AsyncStreamedResponse:
        self._stream = await self._resource.create(**self._kwargs)
        return self

    async def parse(self) -> Any:  # type: ignore[override]
        """The event stream."""
        return self._stream

    async def __aexit__(self, *exc: object) -> None:
        if self._stream is not None:
            await self._stream.close()


def _streaming_init(streamed: type[_StreamedResponse]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``with_streaming_response``: a streamed ``create`` goes through the wrapped ``create`` (how the
    Agents SDK's ``Runner.run_streamed`` calls the model); anything else is left as it was."""

    def factory(original: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, resource: Any) -> None:
            original(self, resource)
            raw = self.create

            def create(*args: Any, **kwargs: Any) -> Any:
                if args or not kwargs.get("stream"):
                    return raw(*args, **kwargs)
                return streamed(resource, kwargs)

            self.create = create

        __init__.__tracereel_original__ = original  # type: ignore[attr-defined]
        return __init__

    return factory


def helpers() -> list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    """Methods rebuilt over the wrapped ones: (class, attribute, wrapper factory)."""
    return [
        (CompletionsWithStreamingResponse, "__init__", _streaming_init(_StreamedResponse)),
        (ResponsesWithStreamingResponse, "__init__", _streaming_init(_StreamedResponse)),
        (AsyncCompletionsWithStreamingResponse, "__init__", _streaming_init(_AsyncStreamedResponse)),
        (AsyncResponsesWithStreamingResponse, "__init__", _streaming_init(_AsyncStreamedResponse)),
    ]
