"""The official OpenAI client: chat completions and responses, sync and async, as ``@llm`` boundaries."""

from __future__ import annotations

from typing import Any

from openai._models import construct_type
from openai.resources.chat.completions.completions import AsyncCompletions, Completions
from openai.resources.responses.responses import AsyncResponses, Responses
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from tracereel.sdk.integrations._llm import Method, rebuilder

__all__ = ["PROVIDER", "methods"]

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
