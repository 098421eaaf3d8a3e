"""instrument() itself: idempotent, undoable, silent for absent libraries, and lazy (import tracereel stays light)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from integration_support import ANSWER
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel
from tests.fake_openai import FakeOpenAI
from tests.support import clean_env
from tracereel import semconv as sc
from tracereel.sdk.integrations import instrumented

Completions = openai.resources.chat.completions.completions.Completions


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(lambda request: ANSWER) as server:
        yield server


def _ask(fake: FakeOpenAI) -> str:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    return str(reply.choices[0].message.content)


def _llm_spans(spans: InMemorySpanExporter) -> int:
    assert tracereel.flush()
    return sum(1 for s in spans.get_finished_spans() if s.name.startswith("chat "))


def test_instrumenting_twice_wraps_once(spans: InMemorySpanExporter, fake: FakeOpenAI) -> None:
    first = tracereel.instrument("openai")
    wrapper = Completions.__dict__["create"]
    second = tracereel.instrument("openai")
    assert Completions.__dict__["create"] is wrapper
    assert not hasattr(wrapper.__tracereel_original__, "__tracereel_original__")  # wraps the library's own
    assert first.libraries == second.libraries == ("openai",) and not second.missing
    assert _ask(fake) == ANSWER
    assert _llm_spans(spans) == 1


def test_uninstrument_restores_the_library_and_instrument_wraps_it_again(
    spans: InMemorySpanExporter, fake: FakeOpenAI
) -> None:
    tracereel.instrument("openai")
    original = Completions.__dict__["create"].__tracereel_original__
    try:
        tracereel.uninstrument("openai")
        assert Completions.__dict__["create"] is original and "openai" not in instrumented()
        assert _ask(fake) == ANSWER
        assert _llm_spans(spans) == 0
        tracereel.uninstrument("openai")  # not instrumented: nothing happens
    finally:
        handle = tracereel.instrument("openai")
    assert Completions.__dict__["create"] is not original
    assert _ask(fake) == ANSWER and _llm_spans(spans) == 1
    assert handle.libraries == ("openai",)


def test_tool_definitions_changed_in_place_between_calls_are_recorded_as_changed(
    spans: InMemorySpanExporter, fake: FakeOpenAI
) -> None:
    # The JSON of a tools list is reused while the list is unchanged: never once it changed.
    tracereel.instrument("openai")
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    tools: list[dict[str, Any]] = [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}]
    names = []
    for rename in ("lookup_order", "find_order", "find_order"):
        tools[0]["function"]["name"] = rename
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], tools=tools)
    assert tracereel.flush()
    for span in spans.get_finished_spans():
        if span.name.startswith("chat "):
            names.append(json.loads(str(span.attributes[sc.TOOL_DEFINITIONS]))[0]["function"]["name"])
    assert names == ["lookup_order", "find_order", "find_order"]


def test_a_streamed_call_records_its_tool_definitions_like_any_other(
    spans: InMemorySpanExporter, fake: FakeOpenAI
) -> None:
    tracereel.instrument("openai")
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], tools=tools, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == ANSWER
    assert tracereel.flush()
    (llm,) = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    assert json.loads(str(llm.attributes[sc.TOOL_DEFINITIONS])) == tools


class _NoCompare(dict[str, Any]):
    """A tool definition that serialises like a dict but refuses to be compared."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("not comparable")

    __hash__ = None  # type: ignore[assignment]


def test_tool_definitions_that_refuse_comparison_do_not_break_the_call(
    spans: InMemorySpanExporter, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEREEL_SWALLOW_ERRORS", "1")  # as in production: logged, not raised
    tracereel.instrument("openai")
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    tools = [_NoCompare({"type": "function", "function": {"name": "lookup_order", "parameters": {}}})]
    for _ in range(2):
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], tools=tools
        )
        assert reply.choices[0].message.content == ANSWER
    assert tracereel.flush()
    recorded = [
        json.loads(str(s.attributes[sc.TOOL_DEFINITIONS]))
        for s in spans.get_finished_spans()
        if s.name.startswith("chat ")
    ]
    assert recorded == [[{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}]] * 2


def test_an_unknown_library_is_refused_with_the_accepted_names() -> None:
    with pytest.raises(ValueError, match="'langchain': expected one of openai, anthropic, openai-agents"):
        tracereel.instrument("langchain")


LIGHTNESS = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
import tracereel
loaded = sorted(m for m in ("openai", "anthropic", "agents", "httpx") if m in sys.modules)
sys.modules["anthropic"] = None  # as if it were not installed
handle = tracereel.instrument("anthropic")
print(json.dumps({"loaded": loaded, "done": handle.libraries, "missing": handle.missing}))
"""


def test_import_tracereel_imports_no_instrumented_library_and_an_absent_one_is_skipped() -> None:
    run = subprocess.run(
        [sys.executable, "-c", LIGHTNESS], capture_output=True, text=True, env=clean_env(), timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    *logs, last = run.stdout.strip().splitlines()
    assert json.loads(last) == {"loaded": [], "done": [], "missing": ["anthropic"]}
    assert "tracereel: anthropic is not installed; not instrumenting it (pip install 'tracereel[anthropic]')" in logs
