"""A local Anthropic Messages API server: the provider edge, faked for the integration tests.

    with FakeAnthropic(lambda request: "hello") as llm:
        client = anthropic.Anthropic(base_url=llm.url, api_key="sk-test")

``POST /v1/messages`` answers a ``message`` whose one text block holds what the responder
returns (or the whole body, for a dict: e.g. ``{"content": [tool_use(...)], "stop_reason":
"tool_use"}`` gets the other fields filled in). With ``"stream": true`` the same message is sent
as the API's server-sent events: ``message_start``, content block start/delta/stop,
``message_delta`` (with the output tokens) and ``message_stop``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fake_openai import FakeServer, Responder

__all__ = ["FakeAnthropic", "tool_use", "tool_use_then"]


def _echo(request: dict[str, Any]) -> str:
    content = (request.get("messages") or [{}])[-1].get("content", "")
    return f"echo: {content}"


def tool_use(name: str, arguments: dict[str, Any], call_id: str = "toolu_1") -> dict[str, Any]:
    """A content block asking for a tool call."""
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def tool_use_then(answer: str, name: str, arguments: dict[str, Any]) -> Responder:
    """A ``tool_use`` of ``name`` when tools are offered and no tool result came back yet; then ``answer``."""

    def respond(request: dict[str, Any]) -> str | dict[str, Any]:
        answered = any(
            isinstance(m.get("content"), list) and any(b.get("type") == "tool_result" for b in m["content"])
            for m in request.get("messages") or []
        )
        if request.get("tools") and not answered:
            return {"content": [tool_use(name, arguments)], "stop_reason": "tool_use"}
        return answer

    return respond


class FakeAnthropic(FakeServer):
    """A fake Anthropic server on 127.0.0.1; ``url`` is the base URL a client takes."""

    name = "fake-anthropic"

    def __init__(self, responder: Responder = _echo, *, latency: float = 0.0, api_key: str | None = None) -> None:
        super().__init__(responder, latency=latency, api_key=api_key)

    def __enter__(self) -> FakeAnthropic:
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        """The base URL an Anthropic client takes (it adds ``/v1/messages``)."""
        return self.base_url.removesuffix("/v1")

    def authorized(self, headers: Any) -> bool:
        return not self.api_key or headers.get("x-api-key") == self.api_key

    def routes(self) -> tuple[str, ...]:
        return ("/messages",)

    def route(self, path: str, request: dict[str, Any], answer: str | dict[str, Any]) -> Any:
        n = len(self.requests)
        body: dict[str, Any] = {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "fake"),
            "content": [{"type": "text", "text": answer}] if isinstance(answer, str) else [],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 6},
        }
        if isinstance(answer, dict):
            body.update(answer)
        return _events(body) if request.get("stream") else body


def _events(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    events: list[tuple[str | None, str]] = []

    def emit(kind: str, **data: Any) -> None:
        events.append((kind, json.dumps({"type": kind, **data})))

    usage = body["usage"]
    emit("message_start", message={**body, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}})
    for index, block in enumerate(body["content"]):
        if block["type"] == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
            text = block["text"]
            for i in range(0, len(text), 4):
                emit("content_block_delta", index=index, delta={"type": "text_delta", "text": text[i : i + 4]})
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            emit(
                "content_block_delta",
                index=index,
                delta={"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
            )
        emit("content_block_stop", index=index)
    emit(
        "message_delta",
        delta={"stop_reason": body["stop_reason"], "stop_sequence": None},
        usage={"output_tokens": usage["output_tokens"]},
    )
    emit("message_stop")
    return events
