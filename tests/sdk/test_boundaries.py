"""The decorators: what each boundary records, for sync and async code, and what it leaves alone."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import tracereel
from tracereel import semconv as sc


def finished(exporter) -> dict[str, Any]:
    assert tracereel.flush()
    return {span.name: span for span in exporter.get_finished_spans()}


def test_tool_records_arguments_result_and_hash(spans):
    @tracereel.tool
    def search(query: str, limit: int = 3) -> list[str]:
        return [query] * limit

    assert search("refund", limit=2) == ["refund", "refund"]
    span = finished(spans)["execute_tool search"]
    attrs = span.attributes
    assert attrs[sc.OPERATION_NAME] == "execute_tool"
    assert attrs[sc.TOOL_NAME] == "search"
    assert json.loads(attrs[sc.TOOL_CALL_ARGUMENTS]) == {"query": "refund", "limit": 2}
    assert json.loads(attrs[sc.TOOL_CALL_RESULT]) == ["refund", "refund"]
    assert attrs[sc.TOOL_CALL_ID].startswith("call_")
    assert len(attrs[sc.ARGS_HASH]) == 16
    assert span.status.status_code == StatusCode.UNSET


def test_args_hash_is_stable_for_equal_arguments_and_differs_otherwise(spans):
    @tracereel.tool(name="lookup")
    def lookup(order_id: str, verbose: bool = False) -> str:
        return order_id

    lookup("A1")
    lookup(order_id="A1", verbose=False)  # same call, spelled differently
    lookup("A2")
    assert tracereel.flush()
    hashes = [s.attributes[sc.ARGS_HASH] for s in spans.get_finished_spans()]
    assert hashes[0] == hashes[1] != hashes[2]


def test_agent_nesting_makes_sub_agent_spans_children(spans):
    @tracereel.tool
    def fetch(x: int) -> int:
        return x * 2

    @tracereel.agent(name="billing", version="2.1")
    def billing(x: int) -> int:
        return fetch(x)

    @tracereel.agent(name="supervisor", version="1.0")
    def supervisor(task: str, x: int) -> dict[str, int]:
        return {"answer": billing(x)}

    assert supervisor("pay", 4) == {"answer": 8}
    by_name = finished(spans)
    root, sub, tool = by_name["invoke_agent supervisor"], by_name["invoke_agent billing"], by_name["execute_tool fetch"]
    assert root.parent is None
    assert sub.parent.span_id == root.context.span_id
    assert tool.parent.span_id == sub.context.span_id
    assert len({root.context.trace_id, sub.context.trace_id, tool.context.trace_id}) == 1
    assert root.attributes[sc.AGENT_VERSION] == "1.0"
    assert (
        root.attributes[sc.ENTRYPOINT]
        == f"{__name__}:test_agent_nesting_makes_sub_agent_spans_children.<locals>.supervisor"
    )
    assert json.loads(root.attributes[sc.AGENT_INPUT]) == {"task": "pay", "x": 4}
    assert json.loads(root.attributes[sc.AGENT_OUTPUT]) == {"answer": 8}


def test_tool_exception_is_reraised_unchanged_and_recorded(spans):
    class QuotaExceeded(Exception):
        pass

    error = QuotaExceeded("quota of 10 reached")

    @tracereel.tool
    def charge(amount: int) -> None:
        raise error

    with pytest.raises(QuotaExceeded) as caught:
        charge(5)
    assert caught.value is error
    span = finished(spans)["execute_tool charge"]
    assert span.status.status_code == StatusCode.ERROR
    assert "quota of 10 reached" in span.status.description
    assert span.attributes[sc.ERROR_TYPE].endswith("QuotaExceeded")
    event = span.events[0]
    assert event.name == "exception"
    assert event.attributes["exception.type"] == f"{__name__}.{QuotaExceeded.__qualname__}"
    assert event.attributes["exception.message"] == "quota of 10 reached"


def test_timeouts_are_recorded_as_error_type_timeout(spans):
    @tracereel.tool
    def slow() -> None:
        raise TimeoutError("upstream took 30s")

    class GatewayTimeout(Exception):
        pass

    @tracereel.tool
    def gateway() -> None:
        raise GatewayTimeout("504")

    with pytest.raises(TimeoutError):
        slow()
    with pytest.raises(GatewayTimeout):
        gateway()
    by_name = finished(spans)
    assert by_name["execute_tool slow"].attributes[sc.ERROR_TYPE] == "timeout"
    assert by_name["execute_tool gateway"].attributes[sc.ERROR_TYPE] == "timeout"
    assert by_name["execute_tool slow"].events[0].attributes["exception.type"] == "TimeoutError"


async def test_async_agents_and_parallel_tools(spans):
    @tracereel.tool(name="price")
    async def price(sku: str) -> float:
        await asyncio.sleep(0.01 if sku == "a" else 0)
        return {"a": 1.5, "b": 2.0}[sku]

    @tracereel.agent(name="shopper")
    async def shopper(skus: list[str]) -> float:
        prices = await asyncio.gather(*(price(s) for s in skus))
        return sum(prices)

    assert await shopper(["a", "b"]) == 3.5
    assert tracereel.flush()
    finished_spans = spans.get_finished_spans()
    root = next(s for s in finished_spans if s.name == "invoke_agent shopper")
    tools = [s for s in finished_spans if s.name == "execute_tool price"]
    assert len(tools) == 2
    assert all(t.parent.span_id == root.context.span_id for t in tools)
    assert sorted(json.loads(t.attributes[sc.TOOL_CALL_RESULT]) for t in tools) == [1.5, 2.0]


def test_llm_reads_openai_usage_and_model_argument(spans):
    @tracereel.llm(provider="openai")
    def complete(messages: list[dict[str, str]], model: str, temperature: float = 0.0) -> dict[str, Any]:
        return {
            "model": model + "-2024-07-18",
            "choices": [{"message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3},
        }

    complete([{"role": "user", "content": "hi"}], model="gpt-4o-mini")
    span = finished(spans)["chat gpt-4o-mini"]
    attrs = span.attributes
    assert attrs[sc.REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[sc.RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[sc.PROVIDER_NAME] == "openai"
    assert attrs[sc.USAGE_INPUT_TOKENS] == 12
    assert attrs[sc.USAGE_OUTPUT_TOKENS] == 3
    assert json.loads(attrs[sc.INPUT_MESSAGES]) == [{"role": "user", "content": "hi"}]
    assert json.loads(attrs[sc.LLM_ARGUMENTS])["temperature"] == 0.0
    assert json.loads(attrs[sc.OUTPUT_MESSAGES])["choices"][0]["message"]["content"] == "ok"


def test_llm_reads_anthropic_shaped_objects_and_record_usage_wins(spans):
    @dataclass
    class Usage:
        input_tokens: int
        output_tokens: int

    @dataclass
    class Message:
        content: str
        usage: Usage

    @tracereel.llm(model="claude-3-5-sonnet", provider="anthropic")
    def ask(prompt: str) -> Message:
        return Message(content="hello", usage=Usage(100, 20))

    @tracereel.llm(model="claude-3-5-sonnet", provider="anthropic")
    def ask_counted(prompt: str) -> Message:
        tracereel.record_usage(7, 8, cost_usd=0.5)
        return Message(content="hello", usage=Usage(100, 20))

    ask("hi")
    ask_counted("hi")
    assert tracereel.flush()
    first, second = spans.get_finished_spans()
    assert (first.attributes[sc.USAGE_INPUT_TOKENS], first.attributes[sc.USAGE_OUTPUT_TOKENS]) == (100, 20)
    assert (second.attributes[sc.USAGE_INPUT_TOKENS], second.attributes[sc.USAGE_OUTPUT_TOKENS]) == (7, 8)
    assert second.attributes[sc.COST_USD] == 0.5
    assert json.loads(first.attributes[sc.OUTPUT_MESSAGES]) == {
        "content": "hello",
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }


def test_values_json_cannot_hold_use_the_documented_repr_fallback(spans):
    class Client:
        def __repr__(self) -> str:
            return f"<Client at {hex(id(self))}>"

    circular: list[Any] = []
    circular.append(circular)

    @tracereel.tool
    def odd(client: Client, blob: bytes, items: set[int], loop: list[Any]) -> object:
        return object()

    odd(Client(), b"\x00\x01", {3, 1}, circular)
    odd(Client(), b"\x00\x01", {1, 3}, circular)
    assert tracereel.flush()
    first, second = spans.get_finished_spans()
    args = json.loads(first.attributes[sc.TOOL_CALL_ARGUMENTS])
    assert args["client"] == {"__tracereel_repr__": "<Client>", "__type__": f"{__name__}.{Client.__qualname__}"}
    assert args["items"] == [1, 3]
    assert args["blob"]["__type__"] == "bytes"
    assert args["loop"]["__type__"] == "builtins.list"
    assert json.loads(first.attributes[sc.TOOL_CALL_RESULT])["__type__"] == "builtins.object"
    # Memory addresses are stripped, so the same call fingerprints the same.
    assert first.attributes[sc.ARGS_HASH] == second.attributes[sc.ARGS_HASH]


def test_methods_leave_self_out_of_the_arguments(spans):
    class Toolbox:
        @tracereel.tool(name="add")
        def add(self, a: int, b: int) -> int:
            return a + b

    assert Toolbox().add(1, 2) == 3
    span = finished(spans)["execute_tool add"]
    assert json.loads(span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"a": 1, "b": 2}


def test_a_wrong_call_still_raises_the_functions_own_error(spans):
    @tracereel.tool
    def needs_two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(TypeError):
        needs_two(1)  # type: ignore[call-arg]
    span = finished(spans)["execute_tool needs_two"]
    assert span.status.status_code == StatusCode.ERROR
