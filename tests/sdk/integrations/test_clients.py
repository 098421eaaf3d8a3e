"""The OpenAI and Anthropic clients, instrumented: record against a fake provider, stop it, replay offline."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import client_apps
import pytest
from click.testing import CliRunner
from integration_support import ANSWER, Recorder, now

from tests.fake_anthropic import FakeAnthropic
from tests.fake_openai import FakeOpenAI
from tracereel import semconv as sc
from tracereel.cli import main

# (app, its agent name, which provider)
APPS = [
    (client_apps.chat_sync, "openai-chat", "openai"),
    (client_apps.chat_async, "openai-chat-async", "openai"),
    (client_apps.chat_stream, "openai-chat-stream", "openai"),
    (client_apps.chat_async_stream, "openai-chat-async-stream", "openai"),
    (client_apps.responses_sync, "openai-responses", "openai"),
    (client_apps.responses_async_stream, "openai-responses-async-stream", "openai"),
    (client_apps.claude_sync, "anthropic", "anthropic"),
    (client_apps.claude_async, "anthropic-async", "anthropic"),
    (client_apps.claude_stream, "anthropic-stream", "anthropic"),
    (client_apps.claude_async_stream, "anthropic-async-stream", "anthropic"),
    (client_apps.claude_stream_helper, "anthropic-stream-helper", "anthropic"),
    (client_apps.claude_async_stream_helper, "anthropic-async-stream-helper", "anthropic"),
]


def _run(app: Any, question: str) -> Any:
    result = app(question)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _replay(trace_id: str, url: str, *more: str) -> Any:
    return CliRunner().invoke(main, ["replay", trace_id, "--collector", url, *more], catch_exceptions=False)


def _record(recorder: Recorder, fake: FakeOpenAI | FakeAnthropic, provider: str, app: Any, name: str) -> str:
    client_apps.URLS[provider] = fake.url if isinstance(fake, FakeAnthropic) else fake.base_url
    since = now()
    assert _run(app, "Where is order A-1?") == ANSWER
    fake.stop()  # replay must not need the provider
    return recorder.latest(name, since)


@pytest.mark.parametrize(("app", "name", "provider"), APPS, ids=[a[1] for a in APPS])
def test_record_stop_the_provider_and_replay_with_exit_0(
    recorder: Recorder, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, app: Any, name: str, provider: str
) -> None:
    fake = fake_openai if provider == "openai" else fake_anthropic
    trace_id = _record(recorder, fake, provider, app, name)
    requests = len(fake.requests)
    tools_before = list(client_apps.TOOL_RUNS)

    result = _replay(trace_id, recorder.url)

    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output
    assert len(fake.requests) == requests and client_apps.TOOL_RUNS == tools_before  # all served from the tape


def test_an_llm_span_records_model_messages_tools_tool_calls_and_usage(
    recorder: Recorder, fake_openai: FakeOpenAI
) -> None:
    trace_id = _record(recorder, fake_openai, "openai", client_apps.chat_sync, "openai-chat")
    spans = recorder.trace(trace_id)["spans"]
    first = next(s for s in spans if s["kind"] == "llm")
    attrs = first["attributes"]
    assert first["name"] == "chat gpt-4o-mini"
    assert attrs[sc.PROVIDER_NAME] == "openai" and attrs[sc.REQUEST_MODEL] == "gpt-4o-mini"
    assert json.loads(attrs[sc.INPUT_MESSAGES])[1] == {"role": "user", "content": "Where is order A-1?"}
    assert json.loads(attrs[sc.TOOL_DEFINITIONS])[0]["function"]["name"] == "lookup_order"
    assert json.loads(attrs[sc.LLM_TOOL_CALLS]) == [
        {"id": "call_1", "name": "lookup_order", "arguments": '{"order_id": "A-1"}'}
    ]
    assert (first["input_tokens"], first["output_tokens"]) == (30, 8)
    assert first["cost_usd"] is not None and first["cost_usd"] > 0  # priced from the model and tokens
    assert json.loads(attrs[sc.OUTPUT_MESSAGES])["choices"][0]["finish_reason"] == "tool_calls"
    tool = next(s for s in spans if s["kind"] == "tool")
    assert tool["parent_span_id"] == first["parent_span_id"]  # both under the agent


def test_a_stream_records_its_events_and_usage(recorder: Recorder, fake_anthropic: FakeAnthropic) -> None:
    trace_id = _record(recorder, fake_anthropic, "anthropic", client_apps.claude_stream, "anthropic-stream")
    llm = next(s for s in recorder.trace(trace_id)["spans"] if s["kind"] == "llm")
    events = json.loads(llm["attributes"][sc.OUTPUT_MESSAGES])
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert (llm["input_tokens"], llm["output_tokens"]) == (12, 6)
    assert llm["attributes"][sc.PROVIDER_NAME] == "anthropic"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_changed_tool_definition_is_a_divergence(
    recorder: Recorder, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, provider: str
) -> None:
    app, name = (
        (client_apps.chat_sync, "openai-chat") if provider == "openai" else (client_apps.claude_sync, "anthropic")
    )
    trace_id = _record(recorder, fake_openai if provider == "openai" else fake_anthropic, provider, app, name)
    client_apps.CHANGES["tool_description"] = "Find an order (any id format)"
    try:
        result = _replay(trace_id, recorder.url, "--json")
    finally:
        client_apps.CHANGES.clear()
    assert result.exit_code == 1, result.output
    divergence = json.loads(result.output)["divergence"]
    model = client_apps.MODEL if provider == "openai" else client_apps.CLAUDE
    assert divergence["kind"] == "different_arguments"
    assert divergence["address"]["label"] == f"llm:{model}#1"
    assert "Find an order (any id format)" in divergence["diff"]
