"""The official Anthropic client: messages, sync and async, streaming included, as ``@llm`` boundaries."""

from __future__ import annotations

from typing import Any

from anthropic._models import construct_type
from anthropic.resources.messages.messages import AsyncMessages, Messages
from anthropic.types import Message, RawMessageStreamEvent

from tracereel.sdk.integrations._llm import Method, rebuilder

__all__ = ["PROVIDER", "methods"]

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
