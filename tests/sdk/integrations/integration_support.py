"""What the integration tests share: the providers' answers, a recorder, a moment before a run."""

from __future__ import annotations

import time
from typing import Any

import tracereel
from tests.fake_anthropic import tool_use_then
from tests.fake_openai import chat_tool_call_then
from tests.support import DEADLINE, latest_trace
from tracereel.replay import fetch_trace

ANSWER = "Order A-1 has shipped."

# A tool call first when tools are offered, then the answer: how the providers answer the apps.
openai_answer = chat_tool_call_then(ANSWER, "lookup_order", {"order_id": "A-1"})
anthropic_answer = tool_use_then(ANSWER, "lookup_order", {"order_id": "A-1"})


class Recorder:
    """Runs an app with the SDK exporting to the module's collector, then fetches its trace."""

    def __init__(self, url: str) -> None:
        self.url = url

    def latest(self, agent_name: str, since: float) -> str:
        """The newest trace of ``agent_name`` started after ``since``."""
        return latest_trace(self.url, agent_name, since)

    def trace(self, trace_id: str) -> dict[str, Any]:
        """A trace from the collector's read API."""
        assert tracereel.flush(DEADLINE)
        return fetch_trace(trace_id, self.url)


def now() -> float:
    """A moment just before a recording starts (the trace list filter takes seconds)."""
    return time.time() - 0.5
