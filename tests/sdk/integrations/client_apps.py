"""Agents written against the official OpenAI and Anthropic clients, as users write them: no
decorator on any model call, only ``tracereel.instrument(...)`` and an ``@tracereel.agent`` entry
point. Importable by name (``client_apps:...``), like user code, so replay can call them.

``URLS`` points the clients at the test's fake provider; after the recording the fake is stopped,
so a call that reached the network during replay would fail. ``CHANGES`` lets a test change the
code between recording and replay, as a developer would.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

import tracereel

tracereel.instrument("openai", "anthropic")

URLS = {"openai": "", "anthropic": ""}
CHANGES: dict[str, Any] = {}
TOOL_RUNS: list[str] = []
MODEL = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-5"


@tracereel.tool
def lookup_order(order_id: str) -> dict[str, str]:
    TOOL_RUNS.append(order_id)
    return {"order_id": order_id, "status": "shipped"}


def _description() -> str:
    return str(CHANGES.get("tool_description", "Look an order up by its id"))


def _chat_tools() -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    return [
        {"type": "function", "function": {"name": "lookup_order", "description": _description(), "parameters": schema}}
    ]


def _claude_tools() -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    return [{"name": "lookup_order", "description": _description(), "input_schema": schema}]


def _openai() -> openai.OpenAI:
    return openai.OpenAI(base_url=URLS["openai"], api_key="sk-test", max_retries=0)


def _async_openai() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=URLS["openai"], api_key="sk-test", max_retries=0)


def _claude() -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=URLS["anthropic"], api_key="sk-test", max_retries=0)


def _async_claude() -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=URLS["anthropic"], api_key="sk-test", max_retries=0)


def _chat_messages(question: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You help with orders."}, {"role": "user", "content": question}]


def _after_tool(messages: list[dict[str, Any]], first: Any) -> list[dict[str, Any]]:
    call = first.choices[0].message.tool_calls[0]
    result = lookup_order(**json.loads(call.function.arguments))
    return [
        *messages,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
    ]


@tracereel.agent(name="openai-chat")
def chat_sync(question: str) -> str:
    client = _openai()
    messages = _chat_messages(question)
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=_chat_tools())
    final = client.chat.completions.create(model=MODEL, messages=_after_tool(messages, first), tools=_chat_tools())
    return str(final.choices[0].message.content)


@tracereel.agent(name="openai-chat-async")
async def chat_async(question: str) -> str:
    client = _async_openai()
    messages = _chat_messages(question)
    first = await client.chat.completions.create(model=MODEL, messages=messages, tools=_chat_tools())
    final = await client.chat.completions.create(
        model=MODEL, messages=_after_tool(messages, first), tools=_chat_tools()
    )
    return str(final.choices[0].message.content)


@tracereel.agent(name="openai-chat-stream")
def chat_stream(question: str) -> str:
    stream = _openai().chat.completions.create(
        model=MODEL, messages=_chat_messages(question), stream=True, stream_options={"include_usage": True}
    )
    parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    return "".join(parts)


@tracereel.agent(name="openai-chat-async-stream")
async def chat_async_stream(question: str) -> str:
    stream = await _async_openai().chat.completions.create(
        model=MODEL, messages=_chat_messages(question), stream=True, stream_options={"include_usage": True}
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    return "".join(parts)


@tracereel.agent(name="openai-responses")
def responses_sync(question: str) -> str:
    response = _openai().responses.create(model=MODEL, instructions="You help with orders.", input=question)
    return response.output_text


@tracereel.agent(name="openai-responses-async-stream")
async def responses_async_stream(question: str) -> str:
    stream = await _async_openai().responses.create(model=MODEL, input=question, stream=True)
    parts = [event.delta async for event in stream if event.type == "response.output_text.delta"]
    return "".join(parts)


def _claude_after_tool(messages: list[dict[str, Any]], first: Any) -> list[dict[str, Any]]:
    use = next(block for block in first.content if block.type == "tool_use")
    result = lookup_order(**use.input)
    return [
        *messages,
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(result)}]},
    ]


@tracereel.agent(name="anthropic")
def claude_sync(question: str) -> str:
    client = _claude()
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    first = client.messages.create(model=CLAUDE, max_tokens=256, messages=messages, tools=_claude_tools())
    final = client.messages.create(
        model=CLAUDE, max_tokens=256, messages=_claude_after_tool(messages, first), tools=_claude_tools()
    )
    return "".join(block.text for block in final.content if block.type == "text")


@tracereel.agent(name="anthropic-async")
async def claude_async(question: str) -> str:
    client = _async_claude()
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    first = await client.messages.create(model=CLAUDE, max_tokens=256, messages=messages, tools=_claude_tools())
    final = await client.messages.create(
        model=CLAUDE, max_tokens=256, messages=_claude_after_tool(messages, first), tools=_claude_tools()
    )
    return "".join(block.text for block in final.content if block.type == "text")


@tracereel.agent(name="anthropic-stream")
def claude_stream(question: str) -> str:
    stream = _claude().messages.create(
        model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": question}], stream=True
    )
    with stream:
        return "".join(e.delta.text for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta")


@tracereel.agent(name="anthropic-async-stream")
async def claude_async_stream(question: str) -> str:
    stream = await _async_claude().messages.create(
        model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": question}], stream=True
    )
    parts = [e.delta.text async for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta"]
    return "".join(parts)


@tracereel.agent(name="anthropic-stream-helper")
def claude_stream_helper(question: str) -> str:
    with _claude().messages.stream(model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": question}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == text
    return text


@tracereel.agent(name="anthropic-async-stream-helper")
async def claude_async_stream_helper(question: str) -> str:
    manager = _async_claude().messages.stream(
        model=CLAUDE, max_tokens=256, messages=[{"role": "user", "content": question}]
    )
    async with manager as stream:
        text = "".join([part async for part in stream.text_stream])
        final = await stream.get_final_message()
    assert final.usage.output_tokens == 6
    return text
