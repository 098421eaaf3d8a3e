"""The SDK's one seam: nothing outside ``sdk/`` reaches into its private modules."""

from __future__ import annotations

import ast
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel
from tracereel.sdk import hooks

ROOT = Path(__file__).resolve().parents[2]
_OUTSIDE_SDK = ["tracereel", "collector", "replay", "dashboard", "evals", "tests", "bench"]


def _private_sdk_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.startswith("tracereel.sdk._")]
    return found


def test_nothing_outside_the_sdk_imports_a_private_sdk_module() -> None:
    offenders = [
        hit
        for folder in _OUTSIDE_SDK
        if (ROOT / folder).is_dir()
        for path in sorted((ROOT / folder).rglob("*.py"))
        for hit in _private_sdk_imports(path)
    ]
    assert offenders == []


def test_boundary_wraps_a_callable_like_the_decorator(spans: InMemorySpanExporter) -> None:
    def lookup(order_id: str) -> dict[str, str]:
        return {"id": order_id}

    wrapped = hooks.boundary("tool", lookup, name="lookup_order")
    decorated = tracereel.tool(name="lookup_order")(lookup)
    assert wrapped("A-1") == decorated("A-1") == {"id": "A-1"}
    tracereel.flush()
    first, second = spans.get_finished_spans()
    assert first.name == second.name == "execute_tool lookup_order"
    keep = ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "tracereel.args_hash")
    assert {k: first.attributes[k] for k in keep} == {k: second.attributes[k] for k in keep}


def test_an_interceptor_serves_a_call_without_running_its_body(spans: InMemorySpanExporter) -> None:
    ran = []

    @tracereel.tool
    def charge(amount: int) -> str:
        ran.append(amount)
        return "live"

    class Serve:
        def intercept(self, call: hooks.BoundaryCall, proceed: object) -> object:
            assert (call.kind, call.name, call.arguments) == ("tool", "charge", {"amount": 5})
            assert call.args_hash == hooks.args_hash(hooks.to_json({"amount": 5}))
            return "served"

        async def intercept_async(self, call: hooks.BoundaryCall, proceed: object) -> object:
            raise AssertionError("sync call")

    with hooks.intercepting(Serve()):
        assert charge(5) == "served"
    assert hooks.get_interceptor() is None
    assert charge(6) == "live"
    assert ran == [6]


def test_run_call_records_like_calling_the_wrapper_and_is_intercepted_the_same(spans: InMemorySpanExporter) -> None:
    import asyncio

    def ask(model: str, messages: list[dict[str, str]]) -> dict[str, str]:
        return {"content": "live"}

    async def ask_async(model: str, messages: list[dict[str, str]]) -> dict[str, str]:
        return {"content": "live"}

    messages = [{"role": "user", "content": "hi"}]
    wrapped = hooks.boundary("llm", ask, provider="openai")
    extra = {"gen_ai.tool.definitions": "[]"}
    assert wrapped(model="m", messages=messages) == {"content": "live"}
    assert hooks.run_call(wrapped, lambda: {"content": "live"}, extra, model="m", messages=messages) == {
        "content": "live"
    }

    async def send() -> dict[str, str]:
        return {"content": "live"}

    wrapped_async = hooks.boundary("llm", ask_async, provider="openai")
    assert asyncio.run(hooks.run_call_async(wrapped_async, send, None, model="m", messages=messages)) == {
        "content": "live"
    }
    tracereel.flush()
    by_wrapper, by_run, by_run_async = spans.get_finished_spans()
    keep = ("gen_ai.input.messages", "gen_ai.output.messages", "tracereel.args_hash", "gen_ai.request.model")
    assert {k: by_wrapper.attributes[k] for k in keep} == {k: by_run.attributes[k] for k in keep}
    assert {k: by_run_async.attributes[k] for k in keep} == {k: by_run.attributes[k] for k in keep}
    assert by_run.attributes["gen_ai.tool.definitions"] == "[]"
    assert "gen_ai.tool.definitions" not in by_wrapper.attributes

    class Serve:
        def intercept(self, call: hooks.BoundaryCall, proceed: object) -> object:
            assert call.arguments == {"model": "m", "messages": messages}
            return {"content": "served"}

        async def intercept_async(self, call: hooks.BoundaryCall, proceed: object) -> object:
            return {"content": "served async"}

    sent = []
    with hooks.intercepting(Serve()):
        assert hooks.run_call(wrapped, lambda: sent.append(1), None, model="m", messages=messages) == {
            "content": "served"
        }
        served = asyncio.run(hooks.run_call_async(wrapped_async, send, None, model="m", messages=messages))
        assert served == {"content": "served async"}
    assert sent == []
