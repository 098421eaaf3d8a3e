"""The official Anthropic client: messages, sync and async, streaming included, as ``@llm`` boundaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anthropic import NOT_GIVEN
from anthropic._models import construct_type
from anthropic.lib.streaming import AsyncMessageStreamManager, MessageStreamManager
from anthropic.resources.messages.messages import AsyncMessages, Messages
from anthropic.types import Message, RawMessageStreamEvent

from tracereel.sdk.integrations._llm import Method, rebuilder

__all__ = ["PROVIDER", "helpers", "methods"]

PROVIDER = "anthropic"


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    blocks: list[Any] = getattr(message, "content", None) or []
    return [
        {"id": block.id, "name": block.name, "arguments": block.input}
        for block in blocks
        if getattr(block, "type", None) == "tool_use"
    ]


def methods() -> list[tuple[type, str, Method]]:
    """Every method this integration wraps: (class, attribute, how)."""
    message = rebuilder(Message, construct_type)
    event = rebuilder(RawMessageStreamEvent, construct_type)
    return [
        (Messages, "create", Method(PROVIDER, "messages", False, message, event, _tool_calls)),
        (AsyncMessages, "create", Method(PROVIDER, "messages", True, message, event, _tool_calls)),
    ]


def _stream_helper(original: Callable[..., Any]) -> Callable[..., Any]:
    """``messages.stream(...)`` over the wrapped ``create(stream=True)``: the helper's accumulating
    stream (``text_stream``, ``get_final_message()``) reads the recorded or replayed events."""

    def stream(self: Messages, *args: Any, **kwargs: Any) -> Any:
        if args or "output_format" in kwargs:  # structured output is converted by the helper: left as is
            return original(self, *args, **kwargs)
        return MessageStreamManager(lambda: self.create(stream=True, **kwargs), output_format=NOT_GIVEN)

    stream.__tracereel_original__ = original  # type: ignore[attr-defined]
    return stream


def _async_stream_helper(original: Callable[..., Any]) -> Callable[..., Any]:
    def stream(self: AsyncMessages, *args: Any, **kwargs: Any) -> Any:
        if args or "output_format" in kwargs:
            return original(self, *args, **kwargs)
        return AsyncMessageStreamManager(self.create(stream=True, **kwargs), output_format=NOT_GIVEN)

    stream.__tracereel_original__ = original  # type: ignore[attr-defined]
    return stream


def helpers() -> list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    """Methods rebuilt over the wrapped ones: (class, attribute, wrapper factory)."""
    return [(Messages, "stream", _stream_helper), (AsyncMessages, "stream", _async_stream_helper)]
