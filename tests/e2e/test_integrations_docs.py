"""The examples of docs/integrations.md, run as users run them (scripts, then ``tracereel replay`` in
a fresh process) against local fake providers that stop before the replay: exit 0, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic, tool_use_then
from tests.fake_openai import FakeOpenAI, chat_tool_call_then, function_call
from tests.support import clean_env, wait_until
from tracereel.client import CollectorClient

pytestmark = pytest.mark.e2e

DOC = Path(__file__).parents[2] / "docs" / "integrations.md"
ANSWER = "Order A-1 has shipped."


def _examples() -> dict[str, str]:
    """The doc's Python examples by the file name on their first line (``# openai_app.py``)."""
    blocks = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", DOC.read_text(), flags=re.S)
    return {name: code for name, code in blocks}


_chat = chat_tool_call_then(ANSWER, "lookup_order", {"order_id": "A-1"})
_anthropic = tool_use_then(ANSWER, "lookup_order", {"order_id": "A-1"})


def _openai(request: dict[str, Any]) -> str | dict[str, Any]:
    if "messages" in request:  # chat completions: a tool call first, then the answer
        return _chat(request)
    # responses (the Agents SDK): the triage agent hands off, the orders agent looks up, then answers
    items = request.get("input") if isinstance(request.get("input"), list) else []
    done = {i.get("call_id") for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"}
    tools = [str(t.get("name")) for t in request.get("tools") or []]
    handoff = next((t for t in tools if t.startswith("transfer_to_")), None)
    if handoff and "call_h" not in done:
        return {"output": [function_call(handoff, {}, "call_h")]}
    if "lookup_order" in tools and "call_l" not in done:
        return {"output": [function_call("lookup_order", {"order_id": "A-1"}, "call_l")]}
    return ANSWER


@pytest.mark.parametrize(
    ("script", "agent"), [("openai_app.py", "orders"), ("anthropic_app.py", "orders-claude"), ("agents_app.py", "desk")]
)
def test_the_documented_example_records_and_replays_offline(
    collector: Any, tmp_path: Path, script: str, agent: str
) -> None:
    path = tmp_path / script
    path.write_text(_examples()[script])
    with FakeOpenAI(_openai) as openai_fake, FakeAnthropic(_anthropic) as anthropic_fake:
        # As a user runs it: not under pytest (the SDK re-raises its own errors there).
        env = {
            **{k: v for k, v in clean_env(TRACEREEL_ENDPOINT=collector.url).items() if not k.startswith("PYTEST")},
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": openai_fake.base_url,
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": anthropic_fake.url,
        }
        run = subprocess.run(
            [sys.executable, str(path), "Where is order A-1?"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[0] == ANSWER
        asked = len(openai_fake.requests) + len(anthropic_fake.requests)
        assert asked >= 2
    # The providers are gone: the replay must be served from the recording.
    client = CollectorClient(collector.url)
    (found,) = wait_until(lambda: client.traces(agent=agent, limit=1), f"the {agent} run to reach the collector")
    replay = subprocess.run(
        [sys.executable, "-m", "tracereel", "replay", found["trace_id"], "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    report = json.loads(replay.stdout)
    assert report["status"] == "reproduced" and report["outcome"]["replayed"] == {"output": ANSWER}
    assert report["served"] == report["recorded_calls"] >= 3
