"""Integration fixtures: one real collector per module, the SDK exporting to it, and fake providers
that answer like the real APIs (tool calls first when tools are offered, then text)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracereel
from tests.fake_anthropic import FakeAnthropic, tool_use
from tests.fake_openai import FakeOpenAI
from tests.support import DEADLINE, collector_over, wait_until
from tracereel.replay import fetch_trace, list_traces

sys.path.insert(0, str(Path(__file__).parent))  # the apps under test import by name, like user code

ANSWER = "Order A-1 has shipped."


def openai_answer(request: dict[str, Any]) -> str | dict[str, Any]:
    """A tool call when tools are offered and no tool result came back yet; then the answer."""
    messages = request.get("messages") or []
    if request.get("tools") and not any(m.get("role") == "tool" for m in messages):
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": '{"order_id": "A-1"}'},
        }
        return {
            "id": "chatcmpl-tool",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": request["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
        }
    return ANSWER


def anthropic_answer(request: dict[str, Any]) -> str | dict[str, Any]:
    """A tool_use block when tools are offered and no tool result came back yet; then the answer."""
    answered = any(
        isinstance(m.get("content"), list) and any(b.get("type") == "tool_result" for b in m["content"])
        for m in request.get("messages") or []
    )
    if request.get("tools") and not answered:
        return {"content": [tool_use("lookup_order", {"order_id": "A-1"})], "stop_reason": "tool_use"}
    return ANSWER


class Recorder:
    """Runs an app with the SDK exporting to the module's collector, then fetches its trace."""

    def __init__(self, url: str) -> None:
        self.url = url

    def latest(self, agent_name: str, since: float) -> str:
        """The newest trace of ``agent_name`` started after ``since``."""
        assert tracereel.flush(DEADLINE), "the SDK could not export the recording"
        found = wait_until(
            lambda: list_traces(self.url, since=str(since), agent=agent_name, limit=1),
            f"a trace of {agent_name} to reach the collector",
        )
        return str(found[0]["trace_id"])

    def trace(self, trace_id: str) -> dict[str, Any]:
        """A trace from the collector's read API."""
        assert tracereel.flush(DEADLINE)
        return fetch_trace(trace_id, self.url)


@pytest.fixture(scope="module")
def module_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector on 127.0.0.1 over a fresh store, shared by one test module."""
    with collector_over(tmp_path_factory.mktemp("integrations-store")) as (url, _app):
        yield url


@pytest.fixture
def recorder(module_collector: str) -> Iterator[Recorder]:
    """The SDK exporting to the module's collector."""
    tracereel.configure(service_name="integration-tests", endpoint=module_collector, schedule_delay_millis=50)
    yield Recorder(module_collector)
    tracereel.shutdown()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI provider answering with a tool call, then text."""
    with FakeOpenAI(openai_answer) as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A fake Anthropic provider answering with a tool use, then text."""
    with FakeAnthropic(anthropic_answer) as fake:
        yield fake


def now() -> float:
    """A moment just before a recording starts (the trace list filter takes seconds)."""
    return time.time() - 0.5
